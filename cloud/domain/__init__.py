"""Bounded contexts of the cloud: each has schemas (wire types), services (rules) and controllers."""
