"""Serial barcode scanners: a byte stream in, one code per scanned label out.

Sans-I/O: :class:`ScanFramer` is fed whatever the port delivered and hands back complete
codes. A serial scanner in its factory setting sends the decoded data followed by a suffix,
usually ``CR`` (Honeywell, Datalogic, Zebra/Symbol) and sometimes ``CR LF`` or ``LF``; the
suffix may arrive in a different read than the data, or half of a ``CR LF`` in each, so all
framing state lives here, between reads.

What the framer does with a line:

- An empty line is dropped: with ``suffix = "auto"`` the ``LF`` of a ``CR LF`` ends an empty
  line, and some scanners send a bare terminator on trigger release.
- Optionally (``strip_aim``) an AIM symbology identifier is removed: ``]`` + a symbology
  letter + a modifier character (``]E0`` EAN-13, ``]C1`` GS1-128, ``]Q3`` QR). Only when asked,
  since a code may itself start with ``]``.
- A line longer than the limit raises :class:`ScanTooLong` once and is skipped up to its
  terminator; the framer never buffers more than the limit, so a scanner (or line noise)
  that never sends a terminator cannot grow memory.
- Bytes are decoded as Latin-1 (ASCII in practice) and non-printable characters removed. That
  includes the ``GS`` separator inside GS1 element strings, so variable-length GS1 fields
  run together; the GTIN at the start of a GS1 code, fixed at 14 digits, is unaffected.
"""

from __future__ import annotations

import collections
from typing import Final, Literal

Suffix = Literal["auto", "cr", "lf", "crlf"]

CR: Final = 0x0D
LF: Final = 0x0A
AIM_PREFIX_LENGTH: Final = 3


class ScanError(ValueError):
    """Base of the scanner framing errors: bad bytes from a scanner raise nothing else."""


class ScanTooLong(ScanError):
    """A line ran past the limit; it is skipped up to its terminator.

    ``limit`` is the limit in bytes; ``head`` holds the first bytes of the line for a log.
    """

    def __init__(self, message: str, *, limit: int, head: bytes) -> None:
        super().__init__(message)
        self.limit = limit
        self.head = head


def strip_aim_identifier(code: str) -> str:
    """``code`` without a leading AIM symbology identifier (``]xN``), when it has one."""
    if len(code) >= AIM_PREFIX_LENGTH and code[0] == "]" and code[1].isalpha() and code[2].isalnum():
        return code[AIM_PREFIX_LENGTH:]
    return code


def decode_line(line: bytes, *, strip_aim: bool = False) -> str:
    """The code in one line: Latin-1, non-printables removed, AIM identifier stripped if asked.

    Returns ``""`` for a line that carries nothing (only blanks or control bytes).
    """
    text = "".join(c for c in line.decode("latin-1") if c.isprintable())
    if strip_aim:
        text = strip_aim_identifier(text)
    return text if text.strip() else ""


class ScanFramer:
    """Splits a scanner's byte stream into codes, whatever the read boundaries.

    ``feed`` takes bytes; ``next_scan`` returns the next code, ``None`` when no complete one is
    waiting, or raises :class:`ScanTooLong` for a rejected line (the following codes stay
    queued, so the caller logs and calls again). The sequence of codes and errors depends on
    the bytes alone, never on how they were split into reads.

    ``max_length`` counts the characters of a code; with ``strip_aim`` the three characters of
    the identifier are allowed on top of it.
    """

    def __init__(self, *, suffix: Suffix = "auto", max_length: int = 128, strip_aim: bool = False) -> None:
        if suffix not in ("auto", "cr", "lf", "crlf"):
            raise ValueError(f"unknown scanner suffix {suffix!r}")
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, not {max_length}")
        self.suffix: Suffix = suffix
        self.max_length = max_length
        self.strip_aim = strip_aim
        self._limit = max_length + (AIM_PREFIX_LENGTH if strip_aim else 0)
        self._pending = bytearray()
        # Set after a line ran past the limit: bytes are dropped until its terminator.
        self._discarding = False
        self._events: collections.deque[bytes | ScanTooLong] = collections.deque()

    def feed(self, data: bytes) -> None:
        """Take the next bytes read from the scanner."""
        self._pending += data
        while (found := self._terminator()) is not None:
            end, length = found
            line = bytes(self._pending[:end])
            del self._pending[: end + length]
            if self._discarding:
                self._discarding = False  # the end of the rejected line
            elif len(line) > self._limit:
                self._events.append(self._too_long(line))
            else:
                self._events.append(line)
        # What is left holds no terminator. In "crlf" mode a final CR may be the first half
        # of one, so it is kept aside from the length check and from discarding.
        held = 1 if self.suffix == "crlf" and self._pending.endswith(b"\r") else 0
        body = len(self._pending) - held
        if not self._discarding and body > self._limit:
            self._events.append(self._too_long(bytes(self._pending[:body])))
            self._discarding = True
        if self._discarding:
            del self._pending[:body]

    def next_scan(self) -> str | None:
        """The next complete code, ``None`` if there is none yet; raises ``ScanTooLong``."""
        while self._events:
            event = self._events.popleft()
            if isinstance(event, ScanTooLong):
                raise event
            code = decode_line(event, strip_aim=self.strip_aim)
            if len(code) > self.max_length:
                # Within the byte limit only thanks to the allowance for an identifier that
                # was not there.
                raise self._too_long(event)
            if code:
                return code
        return None

    def _terminator(self) -> tuple[int, int] | None:
        """Where the first complete line ends in the buffer: (index, terminator length)."""
        pending = self._pending
        if self.suffix == "cr":
            index = pending.find(CR)
            return None if index < 0 else (index, 1)
        if self.suffix == "lf":
            index = pending.find(LF)
            return None if index < 0 else (index, 1)
        if self.suffix == "crlf":
            index = pending.find(b"\r\n")
            return None if index < 0 else (index, 2)
        # "auto": a CR or an LF ends a line. The LF of a CR LF then ends an empty line, which
        # is dropped, so CR, LF and CR LF all give one code even when split between reads.
        cr, lf = pending.find(CR), pending.find(LF)
        candidates = [i for i in (cr, lf) if i >= 0]
        return (min(candidates), 1) if candidates else None

    def _too_long(self, line: bytes) -> ScanTooLong:
        return ScanTooLong(
            f"scan longer than {self.max_length} characters rejected",
            limit=self._limit,
            # Never more than limit + 1 bytes: that much of the line is known whenever it is
            # rejected, so the error is the same however the line was split into reads.
            head=line[: min(32, self._limit + 1)],
        )
