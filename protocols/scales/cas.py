"""CAS ECR protocol "type 6": the ENQ / ACK / DC1 exchange and the 15-byte weight frame.

The exchange, on a 9600 8N1 line:

1. the host sends ENQ ``05``; the scale answers ACK ``06`` (NAK ``15`` when it has no data);
2. the host sends DC1 ``11``; the scale answers with one frame::

     01 02 STA SIGN W5 W4 W3 W2 W1 W0 U1 U0 BCC 03 04
     SOH STX                                     ETX EOT

- STA: ``S`` stable, ``U`` unstable (moving).
- SIGN: space for zero or positive, ``-`` negative, ``F`` overload.
- W5..W0: six ASCII characters, most significant first, including the decimal point
  (``01.500``); leading blanks are taken as zeros.
- U1 U0: the unit, ``kg`` or ``lb`` (some models send capitals).
- BCC: the XOR of the ten data bytes STA..U0. The STX and ETX framing it is not included;
  since ``01 ^ 02 ^ 03`` is 0, a reader that XORs SOH through ETX gets the same value.

The protocol carries no zero or tare command and no under-load code: a scale below zero
sends a negative weight.

Sources: ``shared/reference/device-protocols.md`` ("Scales": line, ENQ/ACK/DC1, the frame,
STA, SIGN, BCC as an XOR); CAS SW-II manual, RS-232C protocol table (SOH, STX, STA S/U, SIGN
``-``/space, W5..W0, the two unit bytes, BCC exclusive-or, ETX, EOT, DC1 as the command);
Ohaus Aviator 7000 service manual, the same ECR format (NAK to ENQ, ``F`` for overflow, the
weight including its decimal point, BCC as the longitudinal parity of the characters between
STX and ETX).
"""

from __future__ import annotations

import functools
import operator
from decimal import Decimal
from typing import Final, Literal, cast

import msgspec

from protocols.scales.common import (
    FrameError,
    MessageQueue,
    ScaleReading,
    normalise_unit,
    parse_number,
    printable,
    to_milligrams,
)

SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
ENQ: Final = 0x05
ACK: Final = 0x06
DC1: Final = 0x11
NAK: Final = 0x15

FRAME_LENGTH: Final = 15
WEIGHT_WIDTH: Final = 6
DATA: Final = slice(2, 12)  # STA .. U0, the bytes the BCC covers

Sign = Literal[" ", "-", "F"]


class CasWeight(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded weight frame. ``value`` is None when an overload frame carried no number."""

    stable: bool
    sign: Sign
    text: str
    value: Decimal | None
    unit: str

    @property
    def overload(self) -> bool:
        return self.sign == "F"


class CasAck(msgspec.Struct, frozen=True):
    """ACK ``06``: the scale has data; send DC1."""


class CasNak(msgspec.Struct, frozen=True):
    """NAK ``15``: the scale has no data for now."""


CasMessage = CasWeight | CasAck | CasNak


def bcc(data: bytes) -> int:
    """The block check character: the XOR of ``data`` (STA..U0 of a frame)."""
    return functools.reduce(operator.xor, data, 0)


def format_weight(value: Decimal, decimals: int) -> str:
    """W5..W0 for ``value`` (its magnitude): six characters with the point (``01.500``)."""
    digits_count = WEIGHT_WIDTH - (1 if decimals else 0)
    if not 0 <= decimals < digits_count:
        raise ValueError(f"cannot send {decimals} decimals in {WEIGHT_WIDTH} characters")
    digits = f"{int(abs(value).scaleb(decimals).to_integral_value()):0{digits_count}d}"
    if len(digits) > digits_count:
        raise ValueError(f"{value} does not fit in {WEIGHT_WIDTH} characters")
    return f"{digits[:-decimals]}.{digits[-decimals:]}" if decimals else digits


def encode_frame(*, stable: bool, sign: Sign, text: str, unit: str) -> bytes:
    """The scale's answer to DC1; ``text`` is W5..W0 and ``unit`` U1 U0."""
    if len(text) != WEIGHT_WIDTH or len(unit) != 2 or sign not in (" ", "-", "F"):
        raise ValueError("a CAS frame has a six-character weight, a sign and a two-character unit")
    data = (("S" if stable else "U") + sign + text + unit).encode("ascii")
    return bytes([SOH, STX]) + data + bytes([bcc(data), ETX, EOT])


def encode_weight(value: Decimal, *, decimals: int, unit: str, stable: bool, overload: bool = False) -> bytes:
    """The frame for a displayed ``value`` (the sign comes from the value, or ``F``)."""
    sign: Sign = "F" if overload else ("-" if value < 0 else " ")
    return encode_frame(stable=stable, sign=sign, text=format_weight(value, decimals), unit=unit.ljust(2))


def decode_frame(frame: bytes) -> CasWeight:
    """One 15-byte frame; raises ``FrameError`` for a wrong marker, field or BCC."""
    if len(frame) != FRAME_LENGTH:
        raise FrameError(f"a CAS frame is {FRAME_LENGTH} bytes, not {len(frame)}", frame)
    if (frame[0], frame[1], frame[13], frame[14]) != (SOH, STX, ETX, EOT):
        raise FrameError("a CAS frame is 01 02 ... 03 04", frame)
    data = frame[DATA]
    if bcc(data) != frame[12]:
        raise FrameError(f"BCC {frame[12]:02X}, the data gives {bcc(data):02X}", frame)
    if any(b < 0x20 or b > 0x7E for b in data):
        raise FrameError("control byte in the data of a CAS frame", frame)
    status, sign, text, unit = (
        chr(data[0]),
        chr(data[1]),
        data[2:8].decode("ascii"),
        data[8:10].decode("ascii"),
    )
    if status not in ("S", "U"):
        raise FrameError(f"STA must be S or U, not {status!r}", frame)
    if sign not in (" ", "-", "F"):
        raise FrameError(f"SIGN must be space, - or F, not {sign!r}", frame)
    if not unit.strip(" ").isalpha():
        raise FrameError(f"not a unit: {unit!r}", frame)
    value: Decimal | None
    try:
        value = parse_number(text, frame) if "-" not in text and "+" not in text else None
    except FrameError:
        value = None
    if value is None and sign != "F":
        raise FrameError(f"not a weight: {text!r}", frame)
    if value is not None and sign == "-":
        value = -value
    return CasWeight(
        stable=status == "S", sign=cast(Sign, sign), text=text, value=value, unit=normalise_unit(unit)
    )


def to_reading(weight: CasWeight, raw: bytes) -> ScaleReading:
    """A frame as a reading; an overload reads 0 mg and is never stable."""
    milligrams = (
        0 if weight.overload or weight.value is None else to_milligrams(weight.value, weight.unit, raw)
    )
    return ScaleReading(
        milligrams=milligrams,
        stable=weight.stable and not weight.overload,
        overload=weight.overload,
        unit=weight.unit,
        raw=printable(raw),
    )


class CasParser:
    """Host side: ACK, NAK and weight frames out of the byte stream.

    A frame is taken once all 15 bytes from its SOH are in. A broken one is reported and
    dropped up to the next SOH inside it (so a good frame that starts there is still read),
    or whole if it holds none. Every other byte outside a frame is reported on its own, so
    the reports never depend on how reads split the stream.
    """

    def __init__(self) -> None:
        self._queue: MessageQueue[tuple[CasMessage, bytes]] = MessageQueue()
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            first = self._buffer[0]
            if first in (ACK, NAK):
                self._queue.put((CasAck() if first == ACK else CasNak(), bytes([first])))
                del self._buffer[:1]
            elif first != SOH:
                self._queue.put(FrameError(f"stray byte {first:02X} outside a CAS frame", bytes([first])))
                del self._buffer[:1]
            elif len(self._buffer) < FRAME_LENGTH:
                return
            else:
                self._take_frame(bytes(self._buffer[:FRAME_LENGTH]))

    def next(self) -> tuple[CasMessage, bytes] | None:
        """The next message and its bytes, None if none is complete; raises ``FrameError``."""
        return self._queue.next()

    def _take_frame(self, frame: bytes) -> None:
        try:
            self._queue.put((decode_frame(frame), frame))
        except FrameError as exc:
            self._queue.put(exc)
            restart = frame.find(bytes([SOH]), 1)
            del self._buffer[: restart if restart != -1 else FRAME_LENGTH]
        else:
            del self._buffer[:FRAME_LENGTH]
