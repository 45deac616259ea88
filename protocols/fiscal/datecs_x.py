"""Datecs "X" protocol (FP-700X, DP-150X, ...): frames, status bytes and the parsers of both ends.

Host request: ``01 | LEN | SEQ | CMD | DATA | 05 | BCC | 03``; device reply:
``01 | LEN | SEQ | CMD | DATA | 04 | STATUS(8) | 05 | BCC | 03``. LEN, CMD and BCC are four
nibble bytes (``0x30 + digit``); LEN is 0x20 plus the count of bytes from LEN's first byte
through ``05``; BCC is the 16-bit sum of those same bytes. Inside DATA, fields are separated by
TAB and every other byte below 0x20 is escaped as ``10, byte + 0x40``, so the markers ``04``
and ``05`` can never occur in it. Between frames the device may send one control byte: NAK
(``15``, the frame was damaged: resend) or SYN (``16``, busy: keep waiting).

Nothing here does I/O: :class:`HostParser` (what a driver reads) and :class:`DeviceParser` (what
a simulator reads) take bytes in any chunking and return whole messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from protocols.fiscal.errors import FieldError, FrameError
from protocols.fiscal.nibbles import checksum, decode_word, encode_word

PRE: Final = 0x01
PST: Final = 0x05
EOT: Final = 0x03
SEP: Final = 0x04  # between a reply's DATA and its status bytes
NAK: Final = 0x15
SYN: Final = 0x16
ESCAPE: Final = 0x10
TAB: Final = 0x09

MAX_DATA: Final = 213  # bytes of (escaped) DATA in a request
MAX_REPLY_DATA: Final = 1024  # generous: a reply longer than this is garbage, not a big answer
STATUS_BYTES: Final = 8
SEQ_FIRST, SEQ_LAST = 0x20, 0x7F

# Commands used by the hub (see the reference sheet).
OPEN_RECEIPT: Final = 0x30
SALE: Final = 0x31
SUBTOTAL: Final = 0x33
PAYMENT: Final = 0x35
COMMENT: Final = 0x36
CLOSE_RECEIPT: Final = 0x38
CANCEL_RECEIPT: Final = 0x3C
SET_DATETIME: Final = 0x3D
GET_DATETIME: Final = 0x3E
REPORT: Final = 0x45
CASH_IN_OUT: Final = 0x46
STATUS: Final = 0x4A
TRANSACTION_STATUS: Final = 0x4C
DEVICE_INFO: Final = 0x5A
DUPLICATE: Final = 0x6D
OPEN_STORNO: Final = 0x2B


def _fields(data: bytes, encoding: str) -> list[str]:
    parts = data.decode(encoding, errors="replace").split("\t")
    return parts[:-1] if parts and parts[-1] == "" else parts


@dataclass(frozen=True, slots=True)
class Request:
    """A host command: ``data`` is unescaped (fields joined by TAB)."""

    seq: int
    cmd: int
    data: bytes = b""

    def fields(self, encoding: str = "cp1251") -> list[str]:
        """DATA split at TAB, without the empty field the closing TAB leaves."""
        return _fields(self.data, encoding)


@dataclass(frozen=True, slots=True)
class Reply:
    """A device answer: ``data`` unescaped; ``status`` the eight status bytes."""

    seq: int
    cmd: int
    data: bytes
    status: bytes

    def fields(self, encoding: str = "cp1251") -> list[str]:
        """DATA split at TAB, without the empty field a trailing TAB leaves."""
        return _fields(self.data, encoding)

    @property
    def error_code(self) -> int:
        """The first field: 0 is OK, a negative number is the device's error (``-111016``)."""
        first = self.fields()[0] if self.data else ""
        try:
            return int(first)
        except ValueError:
            raise FrameError(
                f"reply to {self.cmd:#04x} does not start with an error code: {first!r}"
            ) from None


@dataclass(frozen=True, slots=True)
class Control:
    """A single control byte from the device: NAK (resend) or SYN (busy, wait)."""

    byte: int


@dataclass(frozen=True, slots=True)
class Corrupt:
    """Bytes that looked like a frame but were not one; the parser resynchronised after them."""

    reason: str


def escape(data: bytes) -> bytes:
    """Escape bytes below 0x20 (except the TAB field separator) as ``10, byte + 0x40``."""
    out = bytearray()
    for byte in data:
        if byte < 0x20 and byte != TAB:
            out += bytes((ESCAPE, byte + 0x40))
        else:
            out.append(byte)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    out = bytearray()
    it = iter(data)
    for byte in it:
        if byte == ESCAPE:
            following = next(it, None)
            if following is None or not 0x40 <= following < 0x60:
                raise FrameError("an escape byte (10) is not followed by 0x40..0x5f")
            out.append(following - 0x40)
        else:
            out.append(byte)
    return bytes(out)


def params(*fields: object, encoding: str = "cp1251") -> bytes:
    """Command parameters: each field followed by TAB (the X protocol ends every one with it)."""
    out = bytearray()
    for field in fields:
        text = "" if field is None else str(field)
        if "\t" in text:
            raise FieldError(f"a TAB inside the field {text!r}")
        try:
            out += text.encode(encoding) + b"\t"
        except UnicodeEncodeError as exc:
            raise FieldError(f"{text!r} cannot be sent in {encoding}: {exc.reason}") from None
    return bytes(out)


def _frame(body: bytes) -> bytes:
    """``01 | body | BCC | 03`` where body runs from LEN through 05."""
    return bytes((PRE,)) + body + checksum(body) + bytes((EOT,))


def encode_request(request: Request) -> bytes:
    """The bytes a host sends; raises :class:`FieldError` for an out-of-range SEQ or DATA."""
    if not SEQ_FIRST <= request.seq <= SEQ_LAST:
        raise FieldError(f"SEQ {request.seq:#04x} is outside 0x20..0x7f")
    data = escape(request.data)
    if len(data) > MAX_DATA:
        raise FieldError(f"DATA is {len(data)} bytes escaped; at most {MAX_DATA}")
    length = 0x20 + 4 + 1 + 4 + len(data) + 1
    body = encode_word(length) + bytes((request.seq,)) + encode_word(request.cmd) + data + bytes((PST,))
    return _frame(body)


def encode_reply(reply: Reply) -> bytes:
    """The bytes a device sends (used by the simulator)."""
    if len(reply.status) != STATUS_BYTES:
        raise FieldError(f"status must be {STATUS_BYTES} bytes")
    data = escape(reply.data)
    length = 0x20 + 4 + 1 + 4 + len(data) + 1 + STATUS_BYTES + 1
    body = (
        encode_word(length) + bytes((reply.seq,)) + encode_word(reply.cmd) + data
        + bytes((SEP,)) + reply.status + bytes((PST,))
    )  # fmt: skip
    return _frame(body)


def _split(frame: bytes) -> tuple[int, int, bytes]:
    """Check a whole frame's markers, length and checksum; return (seq, cmd, payload)."""
    if len(frame) < 1 + 10 + 4 + 1 or frame[0] != PRE or frame[-1] != EOT:
        raise FrameError("not a frame (markers or size)")
    body, bcc = frame[1:-5], frame[-5:-1]
    if body[-1] != PST:
        raise FrameError("no 05 before the checksum")
    if checksum(body) != bcc:
        raise FrameError(f"checksum {bcc!r} does not match {checksum(body)!r}")
    if decode_word(body[:4]) != 0x20 + len(body):
        raise FrameError("LEN does not match the frame")
    seq = body[4]
    if not SEQ_FIRST <= seq <= SEQ_LAST:
        raise FrameError(f"SEQ {seq:#04x} is outside 0x20..0x7f")
    return seq, decode_word(body[5:9]), body[9:-1]


def decode_request(frame: bytes) -> Request:
    """A host frame; raises :class:`FrameError`."""
    seq, cmd, payload = _split(frame)
    return Request(seq=seq, cmd=cmd, data=unescape(payload))


def decode_reply(frame: bytes) -> Reply:
    """A device frame; raises :class:`FrameError`."""
    seq, cmd, payload = _split(frame)
    if len(payload) < STATUS_BYTES + 1 or payload[-STATUS_BYTES - 1] != SEP:
        raise FrameError("reply has no 04 and eight status bytes")
    status = payload[-STATUS_BYTES:]
    if any(byte & 0x80 == 0 for byte in status):
        raise FrameError("a status byte without bit 7 set")
    return Reply(seq=seq, cmd=cmd, data=unescape(payload[: -STATUS_BYTES - 1]), status=status)


class _Framer:
    """Finds frames in a byte stream: waits for a whole frame by its LEN, resyncs on garbage."""

    controls: frozenset[int] = frozenset()
    max_body = 4 + 1 + 4 + 2 * MAX_REPLY_DATA + 1 + STATUS_BYTES + 1

    def __init__(self) -> None:
        self._buffer = bytearray()

    def _frames(self, data: bytes) -> list[bytes | Control | Corrupt]:
        self._buffer += data
        out: list[bytes | Control | Corrupt] = []
        buf = self._buffer
        while buf:
            first = buf[0]
            if first in self.controls:
                out.append(Control(first))
                del buf[0]
                continue
            if first != PRE:
                # Line noise or the tail of a damaged frame: skip to the next possible start.
                start = next((i for i, b in enumerate(buf) if b == PRE or b in self.controls), len(buf))
                out.append(Corrupt(f"{start} byte(s) outside a frame"))
                del buf[:start]
                continue
            if len(buf) < 5:
                break
            try:
                body_length = decode_word(bytes(buf[1:5])) - 0x20
            except FrameError:
                body_length = -1
            if not 10 <= body_length <= self.max_body:
                out.append(Corrupt("bad LEN"))
                del buf[0]
                continue
            total = 1 + body_length + 4 + 1
            if len(buf) < total:
                break
            out.append(bytes(buf[:total]))
            del buf[:total]
        return out


class HostParser(_Framer):
    """What a driver reads: replies, NAK/SYN control bytes, and notes of corrupt input."""

    controls = frozenset({NAK, SYN})

    def feed(self, data: bytes) -> list[Reply | Control | Corrupt]:
        out: list[Reply | Control | Corrupt] = []
        for item in self._frames(data):
            if isinstance(item, bytes):
                try:
                    out.append(decode_reply(item))
                except FrameError as exc:
                    out.append(Corrupt(str(exc)))
            else:
                out.append(item)
        return out


class DeviceParser(_Framer):
    """What a simulated device reads: requests, and notes of corrupt input (answered with NAK)."""

    max_body = 4 + 1 + 4 + MAX_DATA + 1

    def feed(self, data: bytes) -> list[Request | Corrupt]:
        out: list[Request | Corrupt] = []
        for item in self._frames(data):
            if isinstance(item, bytes):
                try:
                    out.append(decode_request(item))
                except FrameError as exc:
                    out.append(Corrupt(str(exc)))
            elif isinstance(item, Corrupt):
                out.append(item)
        return out


def next_seq(seq: int) -> int:
    """The SEQ after ``seq``, wrapping from 0x7f to 0x20."""
    return SEQ_FIRST if seq >= SEQ_LAST else seq + 1


def join(fields: Sequence[str]) -> bytes:
    """Reply DATA from fields (the simulator's side of :meth:`Reply.fields`)."""
    return params(*fields)


# (byte, bit) -> flag name, from the reference sheet. Bit 7 of every status byte is always 1.
STATUS_BITS: Final[dict[tuple[int, int], str]] = {
    (0, 0): "syntax_error",
    (0, 1): "invalid_command",
    (0, 2): "clock_not_set",
    (0, 4): "mechanism_fault",
    (0, 5): "general_error",
    (0, 6): "cover_open",
    (1, 0): "overflow",
    (1, 1): "command_not_permitted",
    (2, 0): "paper_end",
    (2, 1): "paper_near_end",
    (2, 2): "ej_full",
    (2, 3): "fiscal_receipt_open",
    (2, 4): "ej_nearly_full",
    (2, 5): "nonfiscal_receipt_open",
    (4, 0): "fm_access_error",
    (4, 3): "fm_few_reports_left",
    (4, 4): "fm_full",
    (5, 1): "formatted",
    (5, 3): "fiscalised",
    (5, 4): "vat_set",
}
# Flags that mean the command just sent was refused (nothing changed in the device).
REFUSING: Final = frozenset(
    {"syntax_error", "invalid_command", "general_error", "overflow", "command_not_permitted",
     "paper_end", "cover_open", "mechanism_fault", "fm_access_error", "fm_full", "ej_full"}
)  # fmt: skip


def status_flags(status: bytes) -> frozenset[str]:
    """The names of the bits set in eight status bytes."""
    if len(status) != STATUS_BYTES:
        raise FrameError(f"status must be {STATUS_BYTES} bytes, got {len(status)}")
    return frozenset(name for (index, bit), name in STATUS_BITS.items() if status[index] & (1 << bit))


def encode_status(flags: frozenset[str] | set[str]) -> bytes:
    """Eight status bytes with ``flags`` set (the simulator's side of :func:`status_flags`)."""
    out = bytearray([0x80] * STATUS_BYTES)
    for (index, bit), name in STATUS_BITS.items():
        if name in flags:
            out[index] |= 1 << bit
    return bytes(out)
