"""Datecs "C" protocol (the older ISL devices: FP-550, FP-800, FP-2000, DP-25, DP-05 ...).

Host request: ``01 | LEN | SEQ | CMD | DATA | 05 | BCC | 03``; device reply:
``01 | LEN | SEQ | CMD | DATA | 04 | STATUS(6) | 05 | BCC | 03``. Unlike the X protocol, LEN,
SEQ and CMD are one byte each: LEN is 0x20 plus the count of bytes from LEN itself through
``05`` (so ``0x20 + 4 + len(DATA)`` in a request, ``0x20 + 11 + len(DATA)`` in a reply), SEQ
and CMD are 0x20..0x7F. BCC is the X protocol's: the 16-bit sum of LEN..05 as four nibble
bytes. DATA fields are separated by commas; DATA bytes are 0x20..0xFF plus TAB and LF, which
the sale and payment commands use as sub-separators. There is no escaping: the markers 01..05
simply never occur inside DATA, and a frame is found by its LEN, not by scanning for ``03``.

Between frames the device may send one control byte: NAK (``15``, checksum or form wrong:
resend with the same SEQ) or SYN (``16``, busy: keep waiting, one every 60 ms).

Sources: the reference sheet (framing, golden vector); Datecs "Програмен интерфейс на фискален
принтер" v1.00BG for FP-800/FP-2000/FP-650/SK1-21F/SK1-31F/FMP-10/FP-550 (status bytes) and the
DP-25/DP-05 "FPprotocol" v2.04 (limits, command syntax), both as quoted in edabg/fpgate
(``DeviceDatecsFPV1``, ``DeviceDatecsDPV1``, ``ProtocolV10``) and matched by erpnet/ErpNet.FP
(``BgDatecsCIslFiscalPrinter``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from protocols.fiscal.errors import FieldError, FrameError
from protocols.fiscal.nibbles import checksum, decode_word

PRE: Final = 0x01
PST: Final = 0x05
EOT: Final = 0x03
SEP: Final = 0x04  # between a reply's DATA and its status bytes
NAK: Final = 0x15
SYN: Final = 0x16
TAB: Final = 0x09
LF: Final = 0x0A

STATUS_BYTES: Final = 6
SEQ_FIRST, SEQ_LAST = 0x20, 0x7F
CMD_FIRST, CMD_LAST = 0x20, 0x7F
# The manual allows 213 data bytes toward the device. It quotes 218 toward the host, but LEN is
# one byte: 0x20 + 11 + 212 = 0xFF is the most a reply can carry.
MAX_DATA: Final = 213
MAX_REPLY_DATA: Final = 0xFF - 0x20 - 11
_REQUEST_OVERHEAD: Final = 4  # LEN SEQ CMD ... 05
_REPLY_OVERHEAD: Final = 4 + 1 + STATUS_BYTES  # ... 04 STATUS 05

# Commands (hex as in the manuals).
OPEN_RECEIPT: Final = 0x30
SALE: Final = 0x31
SUBTOTAL: Final = 0x33
PAYMENT: Final = 0x35  # "total": payment and calculation of the sum
COMMENT: Final = 0x36
CLOSE_RECEIPT: Final = 0x38
CANCEL_RECEIPT: Final = 0x3C
SET_DATETIME: Final = 0x3D
GET_DATETIME: Final = 0x3E
REPORT: Final = 0x45  # daily report: "0" Z, "2" X
CASH_IN_OUT: Final = 0x46
STATUS: Final = 0x4A
TRANSACTION_STATUS: Final = 0x4C
DEVICE_INFO: Final = 0x5A
DUPLICATE: Final = 0x6D
OPEN_STORNO: Final = 0x2E
LAST_DOCUMENT: Final = 0x71


def _fields(data: bytes, encoding: str) -> list[str]:
    return data.decode(encoding, errors="replace").split(",") if data else []


@dataclass(frozen=True, slots=True)
class Request:
    """A host command; ``data`` as sent (fields joined by commas)."""

    seq: int
    cmd: int
    data: bytes = b""

    def fields(self, encoding: str = "cp1251") -> list[str]:
        """DATA split at commas (no data: no fields)."""
        return _fields(self.data, encoding)


@dataclass(frozen=True, slots=True)
class Reply:
    """A device answer: ``data`` and the six status bytes."""

    seq: int
    cmd: int
    data: bytes
    status: bytes

    def fields(self, encoding: str = "cp1251") -> list[str]:
        """DATA split at commas (no data: no fields)."""
        return _fields(self.data, encoding)


@dataclass(frozen=True, slots=True)
class Control:
    """A single control byte from the device: NAK (resend) or SYN (busy, wait)."""

    byte: int


@dataclass(frozen=True, slots=True)
class Corrupt:
    """Bytes that were not a frame; the parser resynchronised after them."""

    reason: str


def params(*fields: object, encoding: str = "cp1251") -> bytes:
    """Command DATA: the fields joined by commas (no trailing separator in this protocol)."""
    parts: list[bytes] = []
    for field in fields:
        text = "" if field is None else str(field)
        if "," in text:
            raise FieldError(f"a comma inside the field {text!r}")
        try:
            parts.append(text.encode(encoding))
        except UnicodeEncodeError as exc:
            raise FieldError(f"{text!r} cannot be sent in {encoding}: {exc.reason}") from None
    return b",".join(parts)


def _check_data(data: bytes, limit: int, error: type[FieldError] | type[FrameError]) -> None:
    if len(data) > limit:
        raise error(f"DATA is {len(data)} bytes; at most {limit}")
    bad = next((b for b in data if b < 0x20 and b not in (TAB, LF)), None)
    if bad is not None:
        # No escaping exists: a control byte in DATA would be read as a marker.
        raise error(f"byte {bad:#04x} cannot be inside DATA (only 0x20..0xff, TAB and LF)")


def _check_ids(seq: int, cmd: int, error: type[FieldError] | type[FrameError]) -> None:
    if not SEQ_FIRST <= seq <= SEQ_LAST:
        raise error(f"SEQ {seq:#04x} is outside 0x20..0x7f")
    if not CMD_FIRST <= cmd <= CMD_LAST:
        raise error(f"CMD {cmd:#04x} is outside 0x20..0x7f")


def _frame(body: bytes) -> bytes:
    """``01 | body | BCC | 03`` where body runs from LEN through 05."""
    return bytes((PRE,)) + body + checksum(body) + bytes((EOT,))


def encode_request(request: Request) -> bytes:
    """The bytes a host sends; raises :class:`FieldError` for an out-of-range SEQ, CMD or DATA."""
    _check_ids(request.seq, request.cmd, FieldError)
    _check_data(request.data, MAX_DATA, FieldError)
    length = 0x20 + _REQUEST_OVERHEAD + len(request.data)
    return _frame(bytes((length, request.seq, request.cmd)) + request.data + bytes((PST,)))


def encode_reply(reply: Reply) -> bytes:
    """The bytes a device sends (used by the simulator)."""
    _check_ids(reply.seq, reply.cmd, FieldError)
    _check_data(reply.data, MAX_REPLY_DATA, FieldError)
    if len(reply.status) != STATUS_BYTES or any(b & 0x80 == 0 for b in reply.status):
        raise FieldError(f"status must be {STATUS_BYTES} bytes, each with bit 7 set")
    length = 0x20 + _REPLY_OVERHEAD + len(reply.data)
    body = bytes((length, reply.seq, reply.cmd)) + reply.data + bytes((SEP,)) + reply.status + bytes((PST,))
    return _frame(body)


def _split(frame: bytes) -> tuple[int, int, bytes]:
    """Check a whole frame's markers, length and checksum; return (seq, cmd, payload)."""
    if len(frame) < 1 + _REQUEST_OVERHEAD + 5 or frame[0] != PRE or frame[-1] != EOT:
        raise FrameError("not a frame (markers or size)")
    body, bcc = frame[1:-5], frame[-5:-1]
    decode_word(bcc)  # a non-nibble byte is a FrameError of its own
    if body[-1] != PST:
        raise FrameError("no 05 before the checksum")
    if checksum(body) != bcc:
        raise FrameError(f"checksum {bcc!r} does not match {checksum(body)!r}")
    if body[0] != 0x20 + len(body):
        raise FrameError("LEN does not match the frame")
    _check_ids(body[1], body[2], FrameError)
    return body[1], body[2], body[3:-1]


def decode_request(frame: bytes) -> Request:
    """A host frame; raises :class:`FrameError`."""
    seq, cmd, payload = _split(frame)
    _check_data(payload, MAX_DATA, FrameError)
    return Request(seq=seq, cmd=cmd, data=payload)


def decode_reply(frame: bytes) -> Reply:
    """A device frame; raises :class:`FrameError`."""
    seq, cmd, payload = _split(frame)
    if len(payload) < STATUS_BYTES + 1 or payload[-STATUS_BYTES - 1] != SEP:
        raise FrameError("reply has no 04 and six status bytes")
    status = payload[-STATUS_BYTES:]
    if any(byte & 0x80 == 0 for byte in status):
        raise FrameError("a status byte without bit 7 set")
    data = payload[: -STATUS_BYTES - 1]
    _check_data(data, MAX_REPLY_DATA, FrameError)
    return Reply(seq=seq, cmd=cmd, data=data, status=status)


class _Framer:
    """Finds frames in a byte stream by their one-byte LEN; resyncs on anything else."""

    controls: frozenset[int] = frozenset()

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
            if len(buf) < 2:
                break
            body_length = buf[1] - 0x20
            if body_length < _REQUEST_OVERHEAD:
                # LEN cannot be this small: this 01 was noise, look for the next one.
                out.append(Corrupt("bad LEN"))
                del buf[0]
                continue
            total = 1 + body_length + 5
            if len(buf) < total:
                break
            out.append(bytes(buf[:total]))
            del buf[:total]
        return out


class HostParser(_Framer):
    """What a driver reads: replies, NAK/SYN control bytes, and notes of corrupt input."""

    controls = frozenset({NAK, SYN})

    def feed(self, data: bytes) -> list[Reply | Control | Corrupt]:
        """Whatever ``data`` completes, in order; never raises."""
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

    def feed(self, data: bytes) -> list[Request | Corrupt]:
        """Whatever ``data`` completes, in order; never raises."""
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


# (byte, bit) -> flag name, from the FP-550/FP-800 manual's status table (bit 7 is always 1).
# Byte 3 carries the configuration switches Sw1..Sw7.
STATUS_BITS: Final[dict[tuple[int, int], str]] = {
    (0, 0): "syntax_error",
    (0, 1): "invalid_command",
    (0, 2): "clock_not_set",
    (0, 3): "no_customer_display",
    (0, 4): "mechanism_fault",
    (0, 5): "general_error",  # OR of the errors the manual marks with '#'
    (0, 6): "cover_open",
    (1, 0): "overflow",  # an amount field overflowed; 1.1 is set too and nothing changed
    (1, 1): "command_not_permitted",
    (1, 2): "ram_reset",
    (1, 3): "low_battery",
    (1, 4): "storno_receipt_open",
    (1, 5): "rotated_service_receipt_open",
    (1, 6): "tax_terminal_not_responding",
    (2, 0): "paper_end",
    (2, 1): "paper_near_end",
    (2, 2): "ej_full",
    (2, 3): "fiscal_receipt_open",
    (2, 4): "ej_nearly_full",
    (2, 5): "nonfiscal_receipt_open",
    (2, 6): "ej_very_nearly_full",
    **{(3, n): f"switch_{n + 1}" for n in range(7)},
    (4, 0): "fm_write_error",
    (4, 1): "tax_number_set",
    (4, 2): "serial_and_fm_set",
    (4, 3): "fm_few_reports_left",  # room for fewer than 50 records
    (4, 4): "fm_full",
    (4, 5): "fm_general_error",  # OR of the errors marked '*' in bytes 4 and 5
    (4, 6): "head_overheated",
    (5, 0): "fm_read_only",
    (5, 1): "formatted",
    (5, 2): "fm_last_write_failed",
    (5, 3): "fiscalised",
    (5, 4): "vat_set",
    (5, 5): "fm_read_error",
}
# Errors the manual marks '#': any of them sets general_error (0.5).
GENERAL_ERRORS: Final = frozenset(
    {"syntax_error", "invalid_command", "mechanism_fault", "command_not_permitted", "ram_reset",
     "low_battery", "paper_end"}
)  # fmt: skip
# Flags that mean the command just sent was refused (nothing changed in the device).
REFUSING: Final = GENERAL_ERRORS | {"general_error", "overflow", "cover_open", "fm_full", "ej_full"}


def status_flags(status: bytes) -> frozenset[str]:
    """The names of the bits set in six status bytes."""
    if len(status) != STATUS_BYTES:
        raise FrameError(f"status must be {STATUS_BYTES} bytes, got {len(status)}")
    return frozenset(name for (index, bit), name in STATUS_BITS.items() if status[index] & (1 << bit))


def encode_status(flags: frozenset[str] | set[str]) -> bytes:
    """Six status bytes with ``flags`` set (the simulator's side of :func:`status_flags`)."""
    unknown = set(flags) - set(STATUS_BITS.values())
    if unknown:
        raise FieldError(f"unknown status flags {sorted(unknown)}")
    out = bytearray([0x80] * STATUS_BYTES)
    for (index, bit), name in STATUS_BITS.items():
        if name in flags:
            out[index] |= 1 << bit
    return bytes(out)
