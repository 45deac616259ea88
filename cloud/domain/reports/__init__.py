"""Reports computed from the facts hubs send: projection tables and the report API."""
