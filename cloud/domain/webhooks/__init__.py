"""Outgoing webhooks: endpoints per event type, signed deliveries with retries, a delivery log."""
