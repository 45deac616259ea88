"""Real-time status (``DLE EOT n``) and automatic status back (``GS a``), decoded.

``DLE EOT n`` (``10 04 n``) is answered with one byte even in the middle of a job. Every answer
has bit 1 and bit 4 set and bits 0 and 7 clear (pattern ``0xx1xx10``), so
``(b & 0x93) == 0x12`` tells a status byte from anything else; a byte that fails it is refused
with :class:`StatusDecodeError` rather than read as a status it is not.

| n | what | bits |
|---|---|---|
| 1 | printer | 2 drawer connector pin 3 high, 3 offline |
| 2 | offline cause | 2 cover open, 3 paper fed by the FEED button, 5 stopped by paper end, 6 error |
| 3 | error cause | 2 mechanical, 3 autocutter, 5 unrecoverable, 6 auto-recoverable |
| 4 | roll paper | 2-3 near end, 5-6 paper end |

All normal is ``16 12 12 12`` for n = 1..4; out of paper gives ``1E`` for n = 1 and ``7E`` for n = 4.

Automatic status back (``GS a n``) sends four bytes at once, and again on every change:
byte 1 ``0xx1xx00`` (2 drawer, 3 offline, 5 cover open, 6 FEED pressed), byte 2 ``0xx0xxxx``
(2 mechanical, 3 autocutter, 5 unrecoverable, 6 auto-recoverable error), byte 3 ``0xx0xxxx``
(bits 0-1 near end, 2-3 paper end), byte 4 ``0xx0xxxx`` reserved.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from protocols.escpos.errors import StatusDecodeError

STATUS_MASK = 0x93
STATUS_PATTERN = 0x12
ASB_FIRST_PATTERN = 0x10
ASB_OTHER_MASK = 0x90


def status_request(n: int) -> bytes:
    """``DLE EOT n``: 1 printer, 2 offline cause, 3 error cause, 4 roll paper."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return bytes((0x10, 0x04, n))


STATUS_QUERY_ALL = b"".join(status_request(n) for n in (1, 2, 3, 4))
"""All four real-time status requests, n = 1, 2, 3, 4: the answers come back in that order."""


class PrinterStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The printer's state as its status answers describe it.

    Fields no answer spoke about keep their defaults: online and nothing wrong.
    """

    online: bool = True
    drawer_pin3_high: bool = False
    cover_open: bool = False
    feed_button: bool = False
    paper_end_stop: bool = False
    error: bool = False
    mechanical_error: bool = False
    autocutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    paper_near_end: bool = False
    paper_end: bool = False

    def problems(self) -> list[str]:
        """Short machine-readable words for what is wrong, most urgent first; empty when all is well.

        One of ``paper_out``, ``cover_open``, ``mechanical_error``, ``autocutter_error``,
        ``unrecoverable_error``, ``auto_recoverable_error`` (e.g. the head overheated),
        ``error`` (an error without a known cause), ``offline`` (offline for no reason above,
        such as the FEED button held) and ``paper_near_end`` (a warning: it still prints).
        """
        found: list[str] = []
        if self.paper_end or self.paper_end_stop:
            found.append("paper_out")
        if self.cover_open:
            found.append("cover_open")
        causes = (
            ("mechanical_error", self.mechanical_error),
            ("autocutter_error", self.autocutter_error),
            ("unrecoverable_error", self.unrecoverable_error),
            ("auto_recoverable_error", self.auto_recoverable_error),
        )
        found += [name for name, present in causes if present]
        if self.error and not any(present for _, present in causes):
            found.append("error")
        if not self.online and not found:
            found.append("offline")
        if self.paper_near_end and not (self.paper_end or self.paper_end_stop):
            found.append("paper_near_end")
        return found

    @property
    def condition(self) -> str:
        """The single most urgent word of :meth:`problems`, or ``"ok"``."""
        found = self.problems()
        return found[0] if found else "ok"

    @property
    def ready(self) -> bool:
        """Whether the printer can take a job now (a near-end warning does not stop it)."""
        return all(problem == "paper_near_end" for problem in self.problems())


def decode_status_byte(n: int, value: int) -> dict[str, bool]:
    """The :class:`PrinterStatus` fields one ``DLE EOT n`` answer sets, by name."""
    if not 0 <= value <= 0xFF:
        raise StatusDecodeError(f"status byte out of range: {value}", value=value)
    if value & STATUS_MASK != STATUS_PATTERN:
        raise StatusDecodeError(
            f"0x{value:02X} is not a DLE EOT {n} answer (fixed bits wrong: 0xx1xx10 expected)", value=value
        )

    def bit(i: int) -> bool:
        return bool(value & (1 << i))

    if n == 1:
        return {"drawer_pin3_high": bit(2), "online": not bit(3)}
    if n == 2:
        return {"cover_open": bit(2), "feed_button": bit(3), "paper_end_stop": bit(5), "error": bit(6)}
    if n == 3:
        return {
            "mechanical_error": bit(2),
            "autocutter_error": bit(3),
            "unrecoverable_error": bit(5),
            "auto_recoverable_error": bit(6),
        }
    if n == 4:
        # Each condition has two bits (two sensors on some models); either one counts.
        return {"paper_near_end": bool(value & 0x0C), "paper_end": bool(value & 0x60)}
    raise StatusDecodeError(f"DLE EOT n must be 1..4, got {n}", value=value)


def decode_status(replies: Mapping[int, int]) -> PrinterStatus:
    """Combine answers keyed by ``n``; an ``n`` not asked leaves its fields at their defaults."""
    fields: dict[str, bool] = {}
    for n, value in sorted(replies.items()):
        fields.update(decode_status_byte(n, value))
    return PrinterStatus(**fields)


def decode_asb(data: bytes) -> PrinterStatus:
    """Four bytes of automatic status back (``GS a n``); ``StatusDecodeError`` on a bad pattern."""
    if len(data) != 4:
        raise StatusDecodeError(f"automatic status back is 4 bytes, got {len(data)}")
    first, second, third, fourth = data
    if first & STATUS_MASK != ASB_FIRST_PATTERN:
        raise StatusDecodeError(f"ASB byte 1 0x{first:02X} does not match 0xx1xx00", value=first)
    for index, value in ((2, second), (3, third), (4, fourth)):
        if value & ASB_OTHER_MASK:
            raise StatusDecodeError(f"ASB byte {index} 0x{value:02X} does not match 0xx0xxxx", value=value)
    return PrinterStatus(
        drawer_pin3_high=bool(first & 0x04),
        online=not first & 0x08,
        cover_open=bool(first & 0x20),
        feed_button=bool(first & 0x40),
        # ASB has no summary error bit; any cause in byte 2 is one.
        error=bool(second & 0x6C),
        mechanical_error=bool(second & 0x04),
        autocutter_error=bool(second & 0x08),
        unrecoverable_error=bool(second & 0x20),
        auto_recoverable_error=bool(second & 0x40),
        paper_near_end=bool(third & 0x03),
        paper_end=bool(third & 0x0C),
    )
