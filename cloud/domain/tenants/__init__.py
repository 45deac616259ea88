"""The tenants context."""
