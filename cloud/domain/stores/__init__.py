"""The stores context."""
