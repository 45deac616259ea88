"""Exactly-once ingest of a hub's facts: duplicates absorbed, gaps detected, acks contiguous.

The hub numbers its facts 1, 2, 3 ... (``seq``) and sends them in order, but QoS 1 repeats
deliveries, a reconnect resends what was not acknowledged, and a broker restart can reorder
them. For each hub the cloud tracks ``contiguous``, the highest seq below which it holds every
fact, and the facts it holds above that. It acknowledges ``contiguous`` only, so the hub
never forgets a fact the cloud does not have. When a fact arrives past a hole, the cloud asks
the hub to resend from the first missing seq, once per hole (and again only after
``retry_after_s`` without progress), so a burst of out-of-order deliveries does not become a
storm of resend requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from protocols.sync.messages import Ack


@dataclass(slots=True)
class HubSequence:
    """One hub's ingest position."""

    contiguous: int = 0
    ahead: set[int] = field(default_factory=set)
    requested_from: int | None = None
    requested_at: float = 0.0

    @classmethod
    def rebuild(cls, contiguous: int, stored_above: Iterable[int]) -> HubSequence:
        """From the store after a restart: its progress row and the seqs stored past it."""
        sequence = cls(contiguous=contiguous, ahead={s for s in stored_above if s > contiguous})
        sequence._advance()
        return sequence

    def is_new(self, seq: int) -> bool:
        """False for a fact already held (a duplicate delivery): store nothing, ack again."""
        return seq > self.contiguous and seq not in self.ahead

    def stored(self, seq: int) -> None:
        """The fact ``seq`` is now durably stored."""
        if self.is_new(seq):
            self.ahead.add(seq)
            self._advance()

    def _advance(self) -> None:
        while self.contiguous + 1 in self.ahead:
            self.contiguous += 1
            self.ahead.discard(self.contiguous)

    def ack(self, now: float, retry_after_s: float = 10.0) -> Ack:
        """What to answer the hub: the contiguous seq, and a resend request for a hole."""
        if not self.ahead:
            self.requested_from = None
            return Ack(seq=self.contiguous)
        missing = self.contiguous + 1
        ask = self.requested_from != missing or now - self.requested_at >= retry_after_s
        if ask:
            self.requested_from = missing
            self.requested_at = now
        return Ack(seq=self.contiguous, resend_from=missing if ask else None)
