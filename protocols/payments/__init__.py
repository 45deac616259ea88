"""Payment terminal protocols, sans-I/O: ZVT (APDUs, serial framing, BMPs) and nexo (Terminal API JSON)."""
