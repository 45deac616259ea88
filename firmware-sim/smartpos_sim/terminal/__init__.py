"""Simulated card payment terminal: ZVT (TCP or a pty) and nexo (HTTP), one engine behind both."""
