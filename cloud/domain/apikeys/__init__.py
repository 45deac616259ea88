"""API keys for integrations: shown once, stored hashed, bound to a tenant and a set of scopes."""
