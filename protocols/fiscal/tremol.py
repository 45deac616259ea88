"""Tremol ZFP protocol: frames, acknowledgements, ping, status bytes and the parsers of both ends.

Host request: ``02 | LEN | NBL | CMD | DATA | CS CS | 0A``. LEN is 0x20 plus the count of
LEN, NBL, CMD and DATA (``0x20 + 3 + len(DATA)``); NBL, the message number, is 0x20..0x9F; CMD
is 0x20..0x7F; DATA fields are separated by ``;`` in cp1251. CS is the XOR of LEN..DATA sent as
two nibble bytes (``0x30 + nibble``, high first).

The device answers every well-formed request with exactly one of:

* an acknowledgement ``06 | NBL | STE1 | STE2 | CS CS | 0A`` (CS over NBL, STE1, STE2), for
  commands without output and for every refused command: STE1 names the device condition
  behind an error, STE2 the command error, ``30 30`` meaning done;
* a message response with the request's layout, ``02 | LEN | NBL | CMD | DATA | CS CS | 0A``,
  for commands that return data.

Damaged frames get the single byte NACK ``15``; RETRY ``0E`` means busy with the previous
command. Outside frames the host may send PING ``09``; the device answers one byte: ``40``
ready, plus bit 0 busy, bit 1 out of paper, bit 2 overheated, bit 3 external display missing
(``41`` busy, ``42``/``43`` out of paper), and over LAN ``50``/``60``/``70`` for password states.

Sources: the reference sheet (framing, ACK, STE tables, ping); Tremol's ZFP protocol
description as quoted in edabg/fpgate (``ProtocolTremolV10``, ``DeviceTremolV1``: message
response, 220-byte DATA limit, 7 status bytes) and erpnet/ErpNet.FP (``BgZfpFiscalPrinter``:
ping answers, NBL 0x20..0x9F, ACK checksum over NBL STE STE).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Final

from protocols.fiscal.errors import FieldError, FrameError

# Frame start and end, acknowledgement, and the single bytes NACK, RETRY (busy) and PING.
STX, ETX, ACK, NACK, RETRY, PING = 0x02, 0x0A, 0x06, 0x15, 0x0E, 0x09

NBL_FIRST, NBL_LAST = 0x20, 0x9F
CMD_FIRST, CMD_LAST = 0x20, 0x7F
MAX_DATA: Final = 0xFF - 0x20 - 3  # 220: LEN is one byte (ZFP_MAXDATALEN in Tremol's zfpdef)
ACK_LENGTH: Final = 7
STATUS_BYTES: Final = 7

PING_READY: Final = 0x40
PING_BITS: Final[dict[int, str]] = {0x01: "busy", 0x02: "paper_out", 0x04: "overheated", 0x08: "no_display"}
PING_LAN: Final[dict[int, str]] = {
    0x50: "waiting_for_password",
    0x60: "other_connection",
    0x70: "wrong_password",
}

# Commands used by the simulator and the hub (0x30 opens a storno receipt too, by its print type).
STATUS, VERSION, FD_NUMBERS, GET_DATETIME, SET_DATETIME = 0x20, 0x21, 0x60, 0x68, 0x48
OPEN_RECEIPT, SALE, SUBTOTAL, PAYMENT, PAY_AND_CLOSE = 0x30, 0x31, 0x33, 0x35, 0x36
FREE_TEXT, CLOSE_RECEIPT, CANCEL_RECEIPT, DUPLICATE, CASH_IN_OUT = 0x37, 0x38, 0x39, 0x3A, 0x3B
REGISTERS, LAST_RECEIPT_NUMBER, RECEIPT_INFO, DAILY_REPORT = 0x6E, 0x71, 0x72, 0x7C

# STE1: the device condition behind an error (0x30 none).
DEVICE_ERRORS: Final[dict[int, str]] = {
    0x31: "out_of_paper", 0x32: "registers_overflow", 0x33: "clock_failure",
    0x34: "fiscal_receipt_open", 0x35: "payment_residue", 0x36: "nonfiscal_receipt_open",
    0x37: "payment_not_closed", 0x38: "fm_failure", 0x39: "wrong_password",
    0x3A: "missing_display", 0x3B: "z_report_missing_24h", 0x3C: "head_overheated",
    0x3D: "power_down_in_receipt", 0x3E: "ej_overflow", 0x3F: "insufficient_conditions",
}  # fmt: skip
# STE2: what was wrong with the command (0x30 none).
COMMAND_ERRORS: Final[dict[int, str]] = {
    0x31: "invalid_command", 0x32: "illegal_command", 0x33: "z_report_not_zero",
    0x34: "syntax_error", 0x35: "input_overflow", 0x36: "zero_input",
    0x37: "no_transaction_to_correct", 0x38: "insufficient_cash",
}  # fmt: skip


class _Fields:
    """DATA read as ``;``-separated cp1251 fields (shared by requests and answers)."""

    __slots__ = ()
    data: bytes

    def fields(self, encoding: str = "cp1251") -> list[str]:
        """DATA split at ``;`` (no data: no fields)."""
        return self.data.decode(encoding, errors="replace").split(";") if self.data else []


@dataclass(frozen=True, slots=True)
class Request(_Fields):
    """A host command: NBL, command and DATA (fields joined by ``;``)."""

    nbl: int
    cmd: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Answer(_Fields):
    """The device's message response to a command that returns data."""

    nbl: int
    cmd: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement: ``ste1`` device condition, ``ste2`` command error (0x30 = none)."""

    nbl: int
    ste1: int = 0x30
    ste2: int = 0x30

    @property
    def ok(self) -> bool:
        """Done: no device condition, no command error."""
        return self.ste1 == 0x30 and self.ste2 == 0x30

    @property
    def device_error(self) -> str | None:
        """STE1's name, or None for 0x30."""
        return None if self.ste1 == 0x30 else DEVICE_ERRORS.get(self.ste1, f"device_error_{self.ste1:#04x}")

    @property
    def command_error(self) -> str | None:
        """STE2's name, or None for 0x30."""
        return None if self.ste2 == 0x30 else COMMAND_ERRORS.get(self.ste2, f"command_error_{self.ste2:#04x}")


@dataclass(frozen=True, slots=True)
class Control:
    """A single byte from the device: NACK (resend) or RETRY (busy)."""

    byte: int


@dataclass(frozen=True, slots=True)
class PingReply:
    """The device's one-byte answer to PING; ``flags`` names what it reports."""

    byte: int

    @property
    def flags(self) -> frozenset[str]:
        """busy, paper_out, overheated, no_display, or the LAN password state."""
        if self.byte in PING_LAN:
            return frozenset({PING_LAN[self.byte]})
        return frozenset(name for bit, name in PING_BITS.items() if self.byte & bit)

    @property
    def ready(self) -> bool:
        """0x40: ready for a command."""
        return self.byte == PING_READY


@dataclass(frozen=True, slots=True)
class Ping:
    """PING received by the device."""


@dataclass(frozen=True, slots=True)
class Corrupt:
    """Bytes that were not a frame; the parser resynchronised after them."""

    reason: str


def params(*fields: object, encoding: str = "cp1251") -> bytes:
    """DATA from fields joined by ``;``."""
    parts: list[bytes] = []
    for field in fields:
        text = "" if field is None else str(field)
        if ";" in text:
            raise FieldError(f"a ';' inside the field {text!r}")
        try:
            parts.append(text.encode(encoding))
        except UnicodeEncodeError as exc:
            raise FieldError(f"{text!r} cannot be sent in {encoding}: {exc.reason}") from None
    return b";".join(parts)


def _cs(data: bytes) -> bytes:
    value = functools.reduce(operator.xor, data, 0)
    return bytes((0x30 + (value >> 4), 0x30 + (value & 0x0F)))


def _check(nbl: int, cmd: int | None, data: bytes, error: type[FieldError] | type[FrameError]) -> None:
    if not NBL_FIRST <= nbl <= NBL_LAST:
        raise error(f"NBL {nbl:#04x} is outside 0x20..0x9f")
    if cmd is not None and not CMD_FIRST <= cmd <= CMD_LAST:
        raise error(f"CMD {cmd:#04x} is outside 0x20..0x7f")
    if len(data) > MAX_DATA:
        raise error(f"DATA is {len(data)} bytes; at most {MAX_DATA}")
    if any(b < 0x20 for b in data):
        # Text fields only: a control byte (0A is the terminator) has no place in DATA.
        raise error("a byte below 0x20 inside DATA")


def _encode(nbl: int, cmd: int, data: bytes) -> bytes:
    _check(nbl, cmd, data, FieldError)
    body = bytes((0x20 + 3 + len(data), nbl, cmd)) + data
    return bytes((STX,)) + body + _cs(body) + bytes((ETX,))


def encode_request(request: Request) -> bytes:
    """The bytes a host sends; raises :class:`FieldError` for an out-of-range NBL, CMD or DATA."""
    return _encode(request.nbl, request.cmd, request.data)


def encode_answer(answer: Answer) -> bytes:
    """A message response (the simulator's side)."""
    return _encode(answer.nbl, answer.cmd, answer.data)


def encode_ack(ack: Ack) -> bytes:
    """An acknowledgement frame (the simulator's side)."""
    _check(ack.nbl, None, b"", FieldError)
    if not (0x30 <= ack.ste1 <= 0x3F and 0x30 <= ack.ste2 <= 0x3F):
        raise FieldError("STE bytes are 0x30..0x3f")
    body = bytes((ack.nbl, ack.ste1, ack.ste2))
    return bytes((ACK,)) + body + _cs(body) + bytes((ETX,))


def _decode(frame: bytes) -> tuple[int, int, bytes]:
    if len(frame) < 7 or frame[0] != STX or frame[-1] != ETX:
        raise FrameError("not a frame (markers or size)")
    body, cs = frame[1:-3], frame[-3:-1]
    if body[0] != 0x20 + len(body):
        raise FrameError("LEN does not match the frame")
    if _cs(body) != cs:
        raise FrameError(f"checksum {cs!r} does not match {_cs(body)!r}")
    _check(body[1], body[2], body[3:], FrameError)
    return body[1], body[2], body[3:]


def decode_request(frame: bytes) -> Request:
    """A host frame; raises :class:`FrameError`."""
    return Request(*_decode(frame))


def decode_answer(frame: bytes) -> Answer:
    """A device message response; raises :class:`FrameError`."""
    return Answer(*_decode(frame))


def decode_ack(frame: bytes) -> Ack:
    """An acknowledgement frame; raises :class:`FrameError`."""
    if len(frame) != ACK_LENGTH or frame[0] != ACK or frame[-1] != ETX:
        raise FrameError("not an acknowledgement (markers or size)")
    body = frame[1:4]
    if _cs(body) != frame[4:6]:
        raise FrameError("acknowledgement checksum does not match")
    if not (0x30 <= body[1] <= 0x3F and 0x30 <= body[2] <= 0x3F):
        raise FrameError("STE bytes outside 0x30..0x3f")
    _check(body[0], None, b"", FrameError)
    return Ack(nbl=body[0], ste1=body[1], ste2=body[2])


def ping_reply(*, busy: bool = False, paper_out: bool = False, overheated: bool = False) -> int:
    """The byte a device answers PING with."""
    return PING_READY | (0x01 if busy else 0) | (0x02 if paper_out else 0) | (0x04 if overheated else 0)


def _is_ping_reply(byte: int) -> bool:
    return byte in PING_LAN or (byte & 0xF0) == PING_READY


class _Framer:
    """Splits a byte stream at the frame starts and single bytes one end expects."""

    singles: frozenset[int] = frozenset()
    starts: frozenset[int] = frozenset({STX})

    def __init__(self) -> None:
        self._buffer = bytearray()

    def _single(self, byte: int) -> bool:
        return byte in self.singles

    def _items(self, data: bytes) -> list[bytes | int | Corrupt]:
        self._buffer += data
        out: list[bytes | int | Corrupt] = []
        buf = self._buffer
        while buf:
            first = buf[0]
            if self._single(first):
                out.append(first)
                del buf[0]
                continue
            if first not in self.starts:
                start = next((i for i, b in enumerate(buf) if b in self.starts or self._single(b)), len(buf))
                out.append(Corrupt(f"{start} byte(s) outside a frame"))
                del buf[:start]
                continue
            if first == ACK:
                total = ACK_LENGTH
            else:
                if len(buf) < 2:
                    break
                if buf[1] < 0x23:
                    out.append(Corrupt("bad LEN"))
                    del buf[0]
                    continue
                total = 1 + (buf[1] - 0x20) + 3
            if len(buf) < total:
                break
            out.append(bytes(buf[:total]))
            del buf[:total]
        return out


class HostParser(_Framer):
    """What a driver reads: answers, acknowledgements, NACK/RETRY, ping replies, corrupt notes."""

    singles = frozenset({NACK, RETRY})
    starts = frozenset({STX, ACK})

    def _single(self, byte: int) -> bool:
        return byte in self.singles or _is_ping_reply(byte)

    def feed(self, data: bytes) -> list[Answer | Ack | Control | PingReply | Corrupt]:
        """Whatever ``data`` completes, in order; never raises."""
        out: list[Answer | Ack | Control | PingReply | Corrupt] = []
        for item in self._items(data):
            if isinstance(item, int):
                out.append(Control(item) if item in self.singles else PingReply(item))
            elif isinstance(item, bytes):
                try:
                    out.append(decode_ack(item) if item[0] == ACK else decode_answer(item))
                except FrameError as exc:
                    out.append(Corrupt(str(exc)))
            else:
                out.append(item)
        return out


class DeviceParser(_Framer):
    """What a simulated device reads: requests, PING, and notes of corrupt input."""

    singles = frozenset({PING})

    def feed(self, data: bytes) -> list[Request | Ping | Corrupt]:
        """Whatever ``data`` completes, in order; never raises."""
        out: list[Request | Ping | Corrupt] = []
        for item in self._items(data):
            if isinstance(item, int):
                out.append(Ping())
            elif isinstance(item, bytes):
                try:
                    out.append(decode_request(item))
                except FrameError as exc:
                    out.append(Corrupt(str(exc)))
            else:
                out.append(item)
        return out


def next_nbl(nbl: int) -> int:
    """The NBL after ``nbl``, wrapping from 0x9f to 0x20."""
    return NBL_FIRST if nbl >= NBL_LAST else nbl + 1


# (byte, bit) -> flag name of the 7 status bytes command 0x20 returns; bit 7 is always 1.
STATUS_BITS: Final[dict[tuple[int, int], str]] = {
    (0, 0): "fm_read_only", (0, 1): "power_down_in_receipt", (0, 2): "head_overheated",
    (0, 3): "clock_not_set", (0, 4): "clock_wrong", (0, 5): "ram_reset", (0, 6): "clock_failure",
    (1, 0): "paper_end", (1, 1): "report_registers_overflow", (1, 2): "customer_report_not_zeroed",
    (1, 3): "daily_report_not_zeroed", (1, 4): "article_report_not_zeroed",
    (1, 5): "operator_report_not_zeroed", (1, 6): "duplicate_printed",
    (2, 0): "nonfiscal_receipt_open", (2, 1): "fiscal_receipt_open", (2, 2): "detailed_receipt_open",
    (2, 3): "vat_receipt_open", (2, 4): "invoice_receipt_open", (2, 5): "sd_nearly_full", (2, 6): "sd_full",
    (3, 0): "no_fm_module", (3, 1): "fm_error", (3, 2): "fm_full", (3, 3): "fm_nearly_full",
    (3, 4): "decimal_point", (3, 5): "fiscalised", (3, 6): "fm_produced",
    (4, 0): "auto_cut", (4, 1): "transparent_display", (4, 2): "speed_9600",
    (4, 4): "drawer_auto_open", (4, 5): "logo_in_receipt",
    (5, 0): "wrong_sim", (5, 1): "blocked_no_operator_3_days", (5, 2): "no_nra_task",
    (5, 5): "wrong_sd_card", (5, 6): "deregistered",
    (6, 0): "no_sim", (6, 1): "no_gprs_modem", (6, 2): "no_mobile_operator", (6, 3): "no_gprs_service",
    (6, 4): "paper_near_end", (6, 5): "unsent_data_24h",
}  # fmt: skip


def status_flags(status: bytes) -> frozenset[str]:
    """The names of the bits set in the 7 status bytes."""
    if len(status) != STATUS_BYTES:
        raise FrameError(f"status must be {STATUS_BYTES} bytes, got {len(status)}")
    return frozenset(name for (index, bit), name in STATUS_BITS.items() if status[index] & (1 << bit))


def encode_status(flags: frozenset[str] | set[str]) -> bytes:
    """Seven status bytes with ``flags`` set (the simulator's side of :func:`status_flags`)."""
    unknown = set(flags) - set(STATUS_BITS.values())
    if unknown:
        raise FieldError(f"unknown status flags {sorted(unknown)}")
    out = bytearray([0x80] * STATUS_BYTES)
    for (index, bit), name in STATUS_BITS.items():
        if name in flags:
            out[index] |= 1 << bit
    return bytes(out)
