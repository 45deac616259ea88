"""ZVT transport units: APDUs (TCP) and DLE-framed APDUs with CRC-16/KERMIT (serial).

APDU = ``CLASS INSTR LEN data``. LEN is one byte for up to 254 data bytes; ``FF`` means that a
two-byte little-endian length follows (so 255 data bytes are already sent as ``FF FF 00``).
Over TCP (port 20007) APDUs go back to back with nothing around them, so the stream can only
be cut by those lengths: there is no marker to resynchronise on, which is why the TCP parser
never "skips" bytes.

Over a serial line (9600 8N2) each APDU travels in a frame::

    10 02 | APDU with every 10 doubled | 10 03 | CRC low | CRC high

The CRC is CRC-16/KERMIT (polynomial 0x1021 reflected = 0x8408, initial value 0, no final
XOR) over the *unescaped* APDU followed by ``03``. The receiver answers every frame with one
byte: ``06`` (ACK, taken) or ``15`` (NAK, damaged: send the same frame again). Sources: the
reference sheet (shared/reference/device-protocols.md, "Payment terminals"), ZVT PA00P015
chapter "Transport protocol RS232" as implemented by the open-source ZVT clients
Europa-Park/zvtlib (RS232Tpdu.cs, CRCChecksum.cs) and wirelane/ecrterm, whose test data holds
the serial frame ``10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from protocols.payments.errors import ZvtError

DLE: Final = 0x10
STX: Final = 0x02
ETX: Final = 0x03
ACK: Final = 0x06
NAK: Final = 0x15

MAX_DATA: Final = 0xFFFF
_EXTENDED: Final = 0xFF


@dataclass(frozen=True, slots=True)
class Apdu:
    """One ZVT APDU: class byte, instruction byte and data (without the length)."""

    cls: int
    instr: int
    data: bytes = b""

    @property
    def command(self) -> tuple[int, int]:
        """``(CLASS, INSTR)``, e.g. ``(0x06, 0x01)`` for an authorization."""
        return (self.cls, self.instr)

    def __str__(self) -> str:
        return f"{self.cls:02X} {self.instr:02X} [{len(self.data)}] {self.data.hex(' ').upper()}"


def encode_apdu(apdu: Apdu) -> bytes:
    """The APDU's bytes: ``CLASS INSTR LEN data`` with the extended length from 255 bytes on."""
    if not (0 <= apdu.cls <= 0xFF and 0 <= apdu.instr <= 0xFF):
        raise ZvtError(f"class and instruction must be bytes, got {apdu.cls!r} {apdu.instr!r}")
    size = len(apdu.data)
    if size > MAX_DATA:
        raise ZvtError(f"APDU data of {size} bytes is longer than {MAX_DATA}")
    length = bytes((size,)) if size < _EXTENDED else bytes((_EXTENDED, size & 0xFF, size >> 8))
    return bytes((apdu.cls, apdu.instr)) + length + apdu.data


def _header(data: bytes | bytearray) -> tuple[int, int] | None:
    """``(header size, data size)`` of the APDU at the start of ``data``; None if incomplete."""
    if len(data) < 3:
        return None
    if data[2] != _EXTENDED:
        return 3, data[2]
    if len(data) < 5:
        return None
    return 5, data[3] | data[4] << 8


def decode_apdu(data: bytes) -> Apdu:
    """Exactly one APDU; raises :class:`ZvtError` for a short, long or truncated one."""
    header = _header(data)
    if header is None:
        raise ZvtError(f"an APDU needs at least 3 bytes (5 with an extended length), got {len(data)}")
    head, size = header
    if len(data) != head + size:
        raise ZvtError(f"APDU length says {size} data bytes, {len(data) - head} follow the header")
    return Apdu(data[0], data[1], bytes(data[head:]))


class ApduParser:
    """Cuts a TCP byte stream into APDUs, whatever the chunking."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held for an APDU that has not fully arrived."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Apdu]:
        self._buffer += data
        out: list[Apdu] = []
        while (header := _header(self._buffer)) is not None:
            head, size = header
            if len(self._buffer) < head + size:
                break
            chunk = bytes(self._buffer[: head + size])
            del self._buffer[: head + size]
            out.append(Apdu(chunk[0], chunk[1], chunk[head:]))
        return out


# -- serial framing ---------------------------------------------------------------------------


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT (poly 0x1021 reflected, init 0, no final XOR); check("123456789") = 0x2189."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def frame_crc(apdu_bytes: bytes) -> bytes:
    """The two CRC bytes of a frame carrying ``apdu_bytes``, low byte first."""
    crc = crc16_kermit(apdu_bytes + bytes((ETX,)))
    return bytes((crc & 0xFF, crc >> 8))


def encode_frame(apdu: Apdu) -> bytes:
    """The serial frame of ``apdu``: ``10 02`` + APDU (``10`` doubled) + ``10 03`` + CRC."""
    raw = encode_apdu(apdu)
    escaped = raw.replace(bytes((DLE,)), bytes((DLE, DLE)))
    return bytes((DLE, STX)) + escaped + bytes((DLE, ETX)) + frame_crc(raw)


def decode_frame(frame: bytes) -> Apdu:
    """Exactly one serial frame; raises :class:`ZvtError` for bad markers, escapes or CRC."""
    items = FrameParser().feed(frame)
    if len(items) != 1 or not isinstance(items[0], Apdu):
        reasons = [item.reason for item in items if isinstance(item, Corrupt)]
        raise ZvtError(f"not one serial frame: {'; '.join(reasons) or 'incomplete'}")
    return items[0]


@dataclass(frozen=True, slots=True)
class Control:
    """A one-byte link answer between frames: ACK (``06``) or NAK (``15``)."""

    byte: int


@dataclass(frozen=True, slots=True)
class Corrupt:
    """Bytes that were not a good frame. ``frame`` is True when a frame start was seen (the
    receiver answers NAK so the sender repeats it) and False for line noise between frames."""

    reason: str
    frame: bool


SerialItem = Apdu | Control | Corrupt

# Parser states.
_IDLE, _START, _DATA, _ESCAPE, _CRC = range(5)
# A frame can never be longer than the largest APDU with every byte doubled.
_MAX_ESCAPED: Final = 2 * (MAX_DATA + 5)


class FrameParser:
    """Cuts a serial byte stream into frames and control bytes, resynchronising after damage.

    Returns :class:`Apdu` for a good frame, :class:`Control` for ACK/NAK and :class:`Corrupt`
    for anything else; it never raises, so a noisy line cannot crash the link.
    """

    def __init__(self) -> None:
        self._state = _IDLE
        self._body = bytearray()
        self._crc = bytearray()
        self._noise = 0

    def _flush_noise(self, out: list[SerialItem]) -> None:
        if self._noise:
            out.append(Corrupt(f"{self._noise} byte(s) of line noise outside a frame", frame=False))
            self._noise = 0

    def feed(self, data: bytes) -> list[SerialItem]:
        out: list[SerialItem] = []
        for byte in data:
            self._step(byte, out)
        return out

    def _step(self, byte: int, out: list[SerialItem]) -> None:
        state = self._state
        if state == _IDLE:
            if byte in (ACK, NAK):
                self._flush_noise(out)
                out.append(Control(byte))
            elif byte == DLE:
                self._state = _START
            else:
                self._noise += 1
        elif state == _START:
            if byte == STX:
                self._flush_noise(out)
                self._body.clear()
                self._state = _DATA
            elif byte == DLE:
                self._noise += 1  # a stray DLE; this one may still start a frame
            else:
                self._noise += 2  # the DLE and this byte
                self._state = _IDLE
        elif state == _DATA:
            if byte == DLE:
                self._state = _ESCAPE
            elif len(self._body) >= _MAX_ESCAPED:
                out.append(Corrupt("frame longer than any APDU", frame=True))
                self._state = _IDLE
            else:
                self._body.append(byte)
        elif state == _ESCAPE:
            if byte == DLE:
                self._body.append(DLE)
                self._state = _DATA
            elif byte == ETX:
                self._crc.clear()
                self._state = _CRC
            elif byte == STX:
                # A new frame starts inside the old one: the old one was cut off.
                out.append(Corrupt("frame cut off by a new frame start", frame=True))
                self._body.clear()
                self._state = _DATA
            else:
                out.append(Corrupt(f"DLE followed by {byte:02X} inside a frame", frame=True))
                self._state = _IDLE
        else:  # _CRC
            self._crc.append(byte)
            if len(self._crc) == 2:
                self._state = _IDLE
                out.append(self._finish())

    def _finish(self) -> SerialItem:
        body = bytes(self._body)
        if frame_crc(body) != bytes(self._crc):
            return Corrupt(f"CRC {self._crc.hex()} does not match the frame", frame=True)
        try:
            return decode_apdu(body)
        except ZvtError as exc:
            return Corrupt(str(exc), frame=True)
