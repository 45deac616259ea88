"""Payment terminal drivers: ZVT (TCP or serial) and nexo (Terminal API JSON over HTTP)."""
