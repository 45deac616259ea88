"""Mettler Toledo 8217 (the "Toledo" protocol of retail scales): requests, answers, status byte.

The host sends single letters, with no terminator. The scale answers in frames
``02 <payload> 0D``:

| request | answer |
|---|---|
| ``57`` ``W`` weigh | ``02 <weight> 0D``, the weight ``W1 W2 . W3 W4 W5`` (five digits and the point), or ``02 3F <status> 0D`` when no valid weight can be given (motion, over capacity, under zero) |
| ``5A`` ``Z`` zero | ``02 3F <status> 0D`` (the zero key is pressed, the status tells how it went) |
| ``45`` ``E`` echo | ``02 45 0D``; then every character the host sends except ``F`` is echoed back |
| ``46`` ``F`` end echo | ``02 46 0D`` |
| ``41`` ``A`` self test | ``02 3F 0D`` |
| anything else | ``02 3F <status> 0D`` |

Status byte: bit 0 in motion, bit 1 over capacity, bit 2 under zero, bit 3 outside the zero
capture range, bit 4 at the centre of zero; bits 5 and 6 are always 1 and bit 7 is the
parity bit of the 7E1 line. Bits 5 and 6 keep the byte printable, so a status can never be
taken for ``02`` or ``0D`` and framing on CR is safe. A UART set to 7E1 strips the parity
bit; a port read as 8 bits would show it, so decoding ignores bit 7.

The protocol has no tare command: taring is done with the scale's own key, and the weight
sent is then the net weight. The line is 9600 baud, 7 data bits, even parity, 1 stop bit;
that is a setting of the serial port (``serial:///dev/ttyUSB0?bytesize=7&parity=E``), not of
the bytes.

The detection handshake is ``E`` followed by a short text: the scale answers ``02 45 0D``
and echoes the text, and ``F`` then takes it back out of echo mode.

Sources: ``shared/reference/device-protocols.md`` ("Scales": line settings, ``W``, the weight
regex ``\\x02\\s*([0-9.]+)N?\\r``, the status frame and bits 0-4, the ``Ehello`` handshake);
the Brecknell 67xxU USB/Serial Scale Service Manual, 8213/8217 command table (``Z``, ``E``,
``F``, ``A`` and unknown-command answers, the five-digit weight, status bits 5-7).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

import msgspec

from protocols.scales.common import (
    FrameError,
    FrameTooLong,
    MessageQueue,
    ScaleReading,
    parse_number,
    printable,
    to_milligrams,
)

STX: Final = 0x02
CR: Final = 0x0D
WEIGH: Final = b"W"
ZERO: Final = b"Z"
ECHO_ON: Final = b"E"
ECHO_OFF: Final = b"F"
SELF_TEST: Final = b"A"
HANDSHAKE_TEXT: Final = b"hello"
MAX_PAYLOAD: Final = 16  # the longest answer carries 7 characters; more is a broken frame
WEIGHT_DIGITS: Final = 5
MAX_ECHO: Final = 256  # echoed bytes merged into one message, at most

MOTION: Final = 0x01
OVER_CAPACITY: Final = 0x02
UNDER_ZERO: Final = 0x04
OUTSIDE_ZERO_CAPTURE: Final = 0x08
CENTRE_OF_ZERO: Final = 0x10
ALWAYS_SET: Final = 0x60
PARITY: Final = 0x80

# The reference regex, anchored to a frame's payload: leading blanks, digits and point, and
# an optional N (kept as ``net``; which models send it is not documented in our sources).
_WEIGHT = re.compile(rb"\s*([0-9.]+)(N?)")


class ToledoStatus(msgspec.Struct, frozen=True):
    """The status byte of a ``02 3F <status> 0D`` answer, parity bit removed."""

    byte: int

    @classmethod
    def of(
        cls,
        *,
        motion: bool = False,
        over_capacity: bool = False,
        under_zero: bool = False,
        outside_zero_capture: bool = False,
        centre_of_zero: bool = False,
    ) -> ToledoStatus:
        """The status a scale in this condition sends."""
        bits = ALWAYS_SET
        for flag, bit in (
            (motion, MOTION),
            (over_capacity, OVER_CAPACITY),
            (under_zero, UNDER_ZERO),
            (outside_zero_capture, OUTSIDE_ZERO_CAPTURE),
            (centre_of_zero, CENTRE_OF_ZERO),
        ):
            if flag:
                bits |= bit
        return cls(bits)

    @property
    def motion(self) -> bool:
        return bool(self.byte & MOTION)

    @property
    def over_capacity(self) -> bool:
        return bool(self.byte & OVER_CAPACITY)

    @property
    def under_zero(self) -> bool:
        return bool(self.byte & UNDER_ZERO)

    @property
    def outside_zero_capture(self) -> bool:
        return bool(self.byte & OUTSIDE_ZERO_CAPTURE)

    @property
    def centre_of_zero(self) -> bool:
        return bool(self.byte & CENTRE_OF_ZERO)


class ToledoWeight(msgspec.Struct, frozen=True):
    """A weight answer: ``text`` as sent, ``value`` in the scale's unit, ``net`` if N followed."""

    text: str
    value: Decimal
    net: bool = False


class ToledoAck(msgspec.Struct, frozen=True):
    """A one-letter answer: ``E`` (echo mode on), ``F`` (echo mode off) or ``?`` (self test)."""

    letter: str


class ToledoEcho(msgspec.Struct, frozen=True):
    """Bytes outside any frame: the echo of what the host sent in echo mode (or line noise)."""

    data: bytes


ToledoAnswer = ToledoWeight | ToledoStatus | ToledoAck
ToledoMessage = ToledoWeight | ToledoStatus | ToledoAck | ToledoEcho


def handshake(text: bytes = HANDSHAKE_TEXT) -> bytes:
    """``E`` and ``text``: the scale answers ``02 45 0D`` and echoes ``text``; send ``F`` after."""
    if not text or any(b < 0x20 or b > 0x7E for b in text) or b"F" in text:
        raise ValueError("the echo text must be printable ASCII without F (F ends echo mode)")
    return ECHO_ON + text


def format_weight(value: Decimal, decimals: int) -> str:
    """The weight field: five digits with the point before the last ``decimals`` (``01.234``)."""
    if not 0 <= decimals < WEIGHT_DIGITS or value < 0:
        raise ValueError(f"cannot send {value} with {decimals} decimals")
    digits = f"{int(value.scaleb(decimals).to_integral_value()):0{WEIGHT_DIGITS}d}"
    if len(digits) > WEIGHT_DIGITS:
        raise ValueError(f"{value} does not fit in {WEIGHT_DIGITS} digits")
    if decimals == 0:
        return digits
    return f"{digits[:-decimals]}.{digits[-decimals:]}"


def encode_weight(value: Decimal, decimals: int) -> bytes:
    """The device's answer to ``W`` with a valid weight."""
    return bytes([STX]) + format_weight(value, decimals).encode("ascii") + bytes([CR])


def encode_status(status: ToledoStatus) -> bytes:
    """The device's ``02 3F <status> 0D`` answer (parity left to the line)."""
    return bytes([STX, 0x3F, (status.byte & ~PARITY) | ALWAYS_SET, CR])


def encode_ack(letter: str) -> bytes:
    """``02 <letter> 0D``: the answer to ``E``, ``F`` or (with ``?``) ``A``."""
    return bytes([STX]) + letter.encode("ascii") + bytes([CR])


def decode_frame(frame: bytes) -> ToledoAnswer:
    """One whole answer ``02 ... 0D``; raises ``FrameError`` for anything else."""
    if len(frame) < 3 or frame[0] != STX or frame[-1] != CR:
        raise FrameError("a Toledo answer is 02 ... 0D", frame)
    payload = bytes(b & ~PARITY for b in frame[1:-1])
    if payload[:1] == b"?":
        if len(payload) == 1:
            return ToledoAck("?")
        status = payload[1]
        if len(payload) != 2 or status & ALWAYS_SET != ALWAYS_SET:
            raise FrameError("a status answer is 02 3F <status with bits 5 and 6 set> 0D", frame)
        return ToledoStatus(status)
    if payload in (b"E", b"F"):
        return ToledoAck(payload.decode("ascii"))
    match = _WEIGHT.fullmatch(payload)
    if match is None:
        raise FrameError("not a Toledo weight, status or acknowledgement", frame)
    text = match.group(1).decode("ascii")
    if text.count(".") > 1 or not any(c.isdigit() for c in text):
        raise FrameError(f"not a weight: {text!r}", frame)
    return ToledoWeight(text, parse_number(text, frame), net=bool(match.group(2)))


def to_reading(
    answer: ToledoWeight | ToledoStatus, unit: str, raw: bytes, decimals: int | None = None
) -> ScaleReading:
    """A weighing answer as a reading in ``unit`` (the protocol does not send it).

    ``decimals`` applies to a weight sent without a point (a scale set to hide it); a weight
    with a point is taken as written. A status answer carries no weight: 0 mg, not stable.
    """
    if isinstance(answer, ToledoStatus):
        return ScaleReading(
            milligrams=0,
            stable=False,
            overload=answer.over_capacity,
            underload=answer.under_zero,
            unit=unit,
            raw=printable(raw),
        )
    value = answer.value
    if decimals and "." not in answer.text:
        value = value.scaleb(-decimals)
    return ScaleReading(
        milligrams=to_milligrams(value, unit, raw), stable=True, unit=unit, raw=printable(raw)
    )


class ToledoParser:
    """Host side: splits what the scale sends into answers and echoed bytes.

    A frame starts at ``02`` and ends at ``0D``. A frame longer than :data:`MAX_PAYLOAD` is
    reported (:class:`FrameTooLong`) and skipped up to its ``0D``; a second ``02`` inside a
    frame reports the first one broken and starts over. Bytes outside frames come out as
    :class:`ToledoEcho`, consecutive ones merged into one message.
    """

    def __init__(self) -> None:
        self._queue: MessageQueue[tuple[ToledoMessage, bytes]] = MessageQueue()
        self._frame = bytearray()
        self._in_frame = False
        self._skipping = False  # inside a frame already reported too long

    def feed(self, data: bytes) -> None:
        """Take the next bytes read from the port."""
        for byte in data:
            if byte == STX:
                if self._in_frame and not self._skipping:
                    self._queue.put(FrameError("frame broken off by a new 02", bytes(self._frame)))
                self._frame = bytearray([STX])
                self._in_frame, self._skipping = True, False
            elif not self._in_frame:
                self._echo(byte)
            elif byte == CR:
                if not self._skipping:
                    self._frame.append(CR)
                    self._decode(bytes(self._frame))
                self._frame = bytearray()
                self._in_frame = self._skipping = False
            elif not self._skipping:
                self._frame.append(byte)
                if len(self._frame) > MAX_PAYLOAD + 1:
                    self._queue.put(FrameTooLong("answer longer than any Toledo answer", bytes(self._frame)))
                    self._skipping = True

    def next(self) -> tuple[ToledoMessage, bytes] | None:
        """The next message and its bytes, None if none is complete; raises ``FrameError``."""
        return self._queue.next()

    def _decode(self, frame: bytes) -> None:
        try:
            self._queue.put((decode_frame(frame), frame))
        except FrameError as exc:
            self._queue.put(exc)

    def _echo(self, byte: int) -> None:
        last = self._queue.last()
        if isinstance(last, tuple) and isinstance(last[0], ToledoEcho) and len(last[1]) < MAX_ECHO:
            data = last[1] + bytes([byte])
            self._queue.replace_last((ToledoEcho(data), data))
        else:
            self._queue.put((ToledoEcho(bytes([byte])), bytes([byte])))
