"""Card payments through the store's payment terminals: a persisted state machine."""
