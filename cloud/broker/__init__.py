"""The MQTT broker as the cloud manages it: accounts and ACLs for every hub."""
