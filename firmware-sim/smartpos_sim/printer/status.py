"""Fault switches and the real-time status bytes (``DLE EOT n``) they produce.

Every answer has bit 1 and bit 4 set and bits 0 and 7 clear (``(b & 0x93) == 0x12``). All
normal is ``16 12 12 12`` for n = 1..4; out of paper gives ``1E`` for n = 1 and ``7E`` for n = 4.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

FIXED_BITS = 0x12


@dataclass
class Switches:
    """The simulated printer's condition, flipped from the control port while it runs."""

    NAMES: ClassVar[tuple[str, ...]] = (
        "paper_out",
        "paper_near_end",
        "cover_open",
        "offline",
        "drawer_open",
        "error",
    )

    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    offline: bool = False  # stops reading and answering, like a hung or unplugged printer
    drawer_open: bool = False
    error: bool = False  # an auto-recoverable error (e.g. head overheated): stops printing

    @property
    def stalled(self) -> bool:
        """Whether printing is held (data stays buffered and prints once this clears)."""
        return self.paper_out or self.cover_open or self.error or self.offline

    def status_byte(self, n: int) -> int | None:
        """The ``DLE EOT n`` answer for the current state; None: no answer for that ``n``."""
        if n == 1:  # printer: bit 2 drawer connector pin 3 high (drawer closed), bit 3 offline
            offline = self.paper_out or self.cover_open or self.error
            return FIXED_BITS | (0 if self.drawer_open else 0x04) | (0x08 if offline else 0)
        if n == 2:  # offline cause: bit 2 cover open, bit 5 stopped by paper end, bit 6 error
            return (
                FIXED_BITS
                | (0x04 if self.cover_open else 0)
                | (0x20 if self.paper_out else 0)
                | (0x40 if self.error else 0)
            )
        if n == 3:  # error cause: bit 6 auto-recoverable error
            return FIXED_BITS | (0x40 if self.error else 0)
        if n == 4:  # roll paper: 0x0C near end, 0x60 paper end (an empty roll is also near its end)
            near_end = self.paper_near_end or self.paper_out
            return FIXED_BITS | (0x0C if near_end else 0) | (0x60 if self.paper_out else 0)
        return None

    def as_dict(self) -> dict[str, bool]:
        return asdict(self)
