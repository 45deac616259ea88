"""The cloud's side of the sync contract: exactly-once ingest rules and presence.

Pure rules (no I/O): the MQTT bridge feeds them what arrives and publishes what they answer;
the store keeps one row per (hub, seq) so the rules can be rebuilt after a restart.
"""
