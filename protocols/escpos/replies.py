"""What a printer sends back, decoded incrementally (sans-I/O).

On its one byte stream back to the host a printer we drive sends:

- real-time status answers to ``DLE EOT n``: one byte, pattern ``0xx1xx10``. They carry no tag,
  so the driver matches them to its outstanding requests in the order it sent them;
- process-id responses to ``GS ( H`` fn 48: ``37 22 d1 d2 d3 d4 00``, sent once everything
  before the request has been printed, which is how a driver knows a job is on paper;
- XON / XOFF (``11`` / ``13``) on serial links with software flow control.

None of these can be mistaken for another: ``0x37 & 0x93 == 0x13`` and ``0x11``/``0x13`` fail the
status pattern too. Automatic status back (``GS a``) is not expected here: its bytes overlap the
others, and the drivers poll with ``DLE EOT`` instead of enabling it.
"""

from __future__ import annotations

import msgspec

from protocols.escpos.errors import ReplyDecodeError
from protocols.escpos.status import STATUS_MASK, STATUS_PATTERN

PROCESS_ID_HEADER = b"\x37\x22"
PROCESS_ID_LENGTH = 7
"""``37 22 d1 d2 d3 d4 00``."""

XON = 0x11
XOFF = 0x13


class StatusByte(msgspec.Struct, frozen=True):
    """One real-time status answer (``DLE EOT n``); decode it with ``decode_status_byte``."""

    value: int


class ProcessIdReply(msgspec.Struct, frozen=True):
    """``GS ( H`` answer: everything sent before the request with this ``id`` has printed."""

    id: str


class FlowControl(msgspec.Struct, frozen=True):
    """XON (``xon=True``: send again) or XOFF (``xon=False``: the printer's buffer is full)."""

    xon: bool


Reply = StatusByte | ProcessIdReply | FlowControl
"""Anything :class:`ReplyParser` returns."""


def _printable(value: int) -> bool:
    return 0x20 <= value <= 0x7E


def process_id_request(pid: str) -> bytes:
    """``GS ( H`` fn 48 (``1D 28 48 06 00 30 30 d1 d2 d3 d4``): ask for ``37 22 pid 00`` back.

    ``pid`` is 4 printable ASCII characters (0x20..0x7E); anything else is a ``ValueError``.
    """
    if len(pid) != 4 or not all(_printable(ord(c)) for c in pid):
        raise ValueError(f"process id must be 4 printable ASCII characters, got {pid!r}")
    return b"\x1d\x28\x48\x06\x00\x30\x30" + pid.encode("ascii")


class ReplyParser:
    """Incremental decoder of a printer's replies: feed it bytes as they arrive.

    :meth:`feed` returns the replies completed by the chunk and keeps a partial process-id
    response for the next chunk, so any split of the stream decodes the same. A byte that is no
    reply raises :class:`ReplyDecodeError` naming it; the error carries the replies completed
    before it in the chunk, the rest of the chunk is dropped and the parser starts afresh.
    """

    def __init__(self) -> None:
        self._pending = bytearray()

    @property
    def pending(self) -> bytes:
        """Bytes of a process-id response still waiting for the rest of it."""
        return bytes(self._pending)

    def reset(self) -> None:
        """Forget a partial reply, e.g. after the connection was reopened."""
        self._pending.clear()

    def feed(self, data: bytes) -> list[Reply]:
        """Decode ``data``; complete replies in the order the printer sent them."""
        replies: list[Reply] = []
        for offset, value in enumerate(data):
            problem = self._step(value, replies)
            if problem is not None:
                self._pending.clear()
                raise ReplyDecodeError(
                    f"{problem} (byte 0x{value:02X} at offset {offset})",
                    value=value,
                    offset=offset,
                    replies=replies,
                )
        return replies

    def _step(self, value: int, replies: list[Reply]) -> str | None:
        """Take one byte; the reason it is wrong, or ``None``."""
        if self._pending:
            return self._continue_process_id(value, replies)
        if value == PROCESS_ID_HEADER[0]:
            self._pending.append(value)
        elif value & STATUS_MASK == STATUS_PATTERN:
            replies.append(StatusByte(value))
        elif value in (XON, XOFF):
            replies.append(FlowControl(xon=value == XON))
        else:
            return "unexpected byte from the printer: no status, process-id or flow-control reply"
        return None

    def _continue_process_id(self, value: int, replies: list[Reply]) -> str | None:
        index = len(self._pending)
        if index == 1 and value != PROCESS_ID_HEADER[1]:
            return "process-id reply header 37 not followed by 22"
        if 2 <= index <= 5 and not _printable(value):
            return "process-id reply holds a non-printable id byte"
        if index == PROCESS_ID_LENGTH - 1:
            if value != 0x00:
                return "process-id reply does not end with NUL"
            replies.append(ProcessIdReply(self._pending[2:6].decode("ascii")))
            self._pending.clear()
            return None
        self._pending.append(value)
        return None
