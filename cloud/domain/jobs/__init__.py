"""Remote jobs: an admin sends a command to a hub, and follows it to its end."""
