"""The users context."""
