"""Exponential backoff with jitter for reconnects and retries."""

from __future__ import annotations

import random


class Backoff:
    """0.5 s, 1 s, 2 s ... up to ``maximum``, each with +-20% jitter.

    Jitter keeps a store full of printers that lost power together from reconnecting in lockstep.
    """

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.failures = 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * (2.0**self.failures))
        self.failures += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0
