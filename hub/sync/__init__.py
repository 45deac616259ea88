"""The hub's side of the cloud link: MQTT driven from the asyncio loop, the outbox relay,
presence and remote jobs (architecture, "Hub <-> cloud sync contract")."""
