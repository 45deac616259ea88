"""The hubs context."""
