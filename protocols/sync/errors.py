"""Typed errors of the sync codecs."""

from __future__ import annotations


class SyncDecodeError(ValueError):
    """A message that cannot be decoded into its type; ``reason`` says why (for dead letters)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TopicError(ValueError):
    """A topic that is not one of ours, or an identifier that cannot appear in a topic."""
