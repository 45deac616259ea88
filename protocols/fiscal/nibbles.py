"""The "nibble" encoding Datecs uses for lengths, commands and checksums: one hex digit per byte,
each sent as ``0x30 + digit`` (so ``0x5A`` as a 4-nibble word is ``30 30 35 3A``)."""

from __future__ import annotations

from protocols.fiscal.errors import FrameError


def encode_word(value: int, digits: int = 4) -> bytes:
    """``value`` as ``digits`` nibble bytes, most significant first."""
    if not 0 <= value < 16**digits:
        raise FrameError(f"{value} does not fit {digits} nibbles")
    return bytes(0x30 + ((value >> (4 * shift)) & 0xF) for shift in range(digits - 1, -1, -1))


def decode_word(data: bytes) -> int:
    """The value of nibble bytes; raises :class:`FrameError` for a byte outside 0x30..0x3F."""
    value = 0
    for byte in data:
        if not 0x30 <= byte <= 0x3F:
            raise FrameError(f"byte {byte:#04x} is not a nibble (0x30..0x3f)")
        value = (value << 4) | (byte - 0x30)
    return value


def checksum(data: bytes) -> bytes:
    """Datecs BCC: the 16-bit sum of ``data``, as four nibble bytes."""
    return encode_word(sum(data) & 0xFFFF)
