"""ZVT data fields: BCD numbers, LLVAR/LLLVAR, the bitmaps (BMPs) and the BER-TLV container.

A BMP is a one-byte tag followed by a value whose length the tag alone decides: fixed binary,
fixed BCD, LLVAR (two length bytes ``F x``, ``F y`` = 10x + y data bytes), LLLVAR (three such
bytes) or ``06``, the TLV container with a BER length. A receiver that meets a tag it does not
know cannot find where the value ends, so :func:`decode_bmps` stops there and hands back the
rest unread instead of guessing.

The table follows ZVT PA00P015 ("Summary of utilised BMPs") as listed by the open-source
implementations wirelane/ecrterm (``packets/bitmaps.py``) and bezahl-online/zvt
(``bmp/bmp.go``); the amount is 6 BCD bytes of minor units, ``49`` the ISO 4217 number in 2 BCD
bytes (``09 78`` = 978 = EUR), ``0B`` the 3-byte trace number, ``0C`` HHMMSS, ``0D`` MMDD, ``22``
the PAN as LLVAR BCD where ``E`` marks a masked digit and ``F`` pads an odd count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from protocols.payments.errors import ZvtError

Kind = Literal["bin", "bcd", "ll", "lll", "tlv"]

# tag -> (kind, fixed size in bytes; 0 for variable lengths)
BMP_FORMATS: Final[dict[int, tuple[Kind, int]]] = {
    0x01: ("bin", 1),  # timeout, seconds
    0x02: ("bin", 1),  # max. number of status informations
    0x03: ("bin", 1),  # service byte
    0x04: ("bcd", 6),  # amount in minor units
    0x05: ("bin", 1),  # pump number
    0x06: ("tlv", 0),  # TLV container
    0x0B: ("bcd", 3),  # trace number
    0x0C: ("bcd", 3),  # time HHMMSS
    0x0D: ("bcd", 2),  # date MMDD
    0x0E: ("bcd", 2),  # expiry date YYMM
    0x17: ("bcd", 2),  # card sequence number
    0x19: ("bin", 1),  # payment type / status byte / card type (by command)
    0x22: ("ll", 0),  # PAN / EF_ID, BCD with E = masked digit
    0x23: ("ll", 0),  # track 2
    0x24: ("lll", 0),  # track 3
    0x27: ("bin", 1),  # result code
    0x29: ("bcd", 4),  # terminal id
    0x2A: ("bin", 15),  # VU number (ASCII)
    0x2D: ("ll", 0),  # track 1
    0x2E: ("lll", 0),  # synchronous chip data
    0x37: ("bcd", 3),  # trace number of the original transaction (reversal)
    0x3A: ("bcd", 2),  # CVV/CVC
    0x3B: ("bin", 8),  # AID authorisation attribute
    0x3C: ("lll", 0),  # additional data / additional text
    0x3D: ("bcd", 3),  # password
    0x49: ("bcd", 2),  # currency code, ISO 4217 numeric
    0x60: ("lll", 0),  # individual totals
    0x87: ("bcd", 2),  # receipt number
    0x88: ("bcd", 3),  # turnover record number
    0x8A: ("bin", 1),  # card type (ZVT card number)
    0x8B: ("ll", 0),  # card name (ASCII, often NUL-terminated)
    0x8C: ("bin", 1),  # card type id of the network operator
    0x92: ("lll", 0),  # additional data ec-Cash with chip offline
    0x9A: ("lll", 0),  # Geldkarte records
    0xA0: ("bin", 1),  # result code of the authorisation system
    0xA7: ("ll", 0),  # chip data, EF_ID
    0xAA: ("bcd", 3),  # date YYMMDD
    0xAF: ("lll", 0),  # EF_Info
    0xBA: ("bin", 5),  # AID parameter
    0xD0: ("bin", 1),  # algorithm key
    0xD1: ("ll", 0),  # card offset / PIN data
    0xD2: ("bin", 1),  # direction
    0xD3: ("bin", 1),  # key position
    0xE0: ("bin", 1),  # min. length of the input
    **dict.fromkeys(range(0xE1, 0xE9), ("ll", 0)),  # text2 lines 1-8
    0xE9: ("bin", 1),  # max. length of the input
    0xEA: ("bin", 1),  # echo the input
    0xEB: ("bin", 8),  # MAC over text 1 and text 2
    0xF0: ("bin", 1),  # display duration
    **dict.fromkeys(range(0xF1, 0xF9), ("ll", 0)),  # text1 lines 1-8
    0xF9: ("bin", 1),  # number of beep tones
    0xFA: ("bin", 1),  # status
    0xFB: ("bin", 1),  # confirmation of the input with <OK> required
    0xFC: ("bin", 1),  # dialog control
}

MAX_AMOUNT: Final = 999_999_999_999  # 12 BCD digits of minor units


# -- BCD --------------------------------------------------------------------------------------


def bcd_encode(digits: str | int, size: int) -> bytes:
    """``digits`` as ``size`` packed BCD bytes, left-padded with zeros."""
    text = str(digits)
    if not text.isascii() or not text.isdigit() or len(text) > 2 * size:
        raise ZvtError(f"{text!r} is not a number of at most {2 * size} digits")
    return bytes.fromhex(text.zfill(2 * size))


def bcd_decode(data: bytes) -> str:
    """Packed BCD bytes as a digit string (leading zeros kept)."""
    text = data.hex()
    if not text.isdigit():
        raise ZvtError(f"not BCD: {data.hex(' ')}")
    return text


def encode_amount(minor_units: int) -> bytes:
    """An amount in minor units as the 6-byte BCD value of BMP ``04``."""
    if not 0 <= minor_units <= MAX_AMOUNT:
        raise ZvtError(f"amount {minor_units} is outside 0..{MAX_AMOUNT}")
    return bcd_encode(minor_units, 6)


def decode_amount(value: bytes) -> int:
    return int(bcd_decode(value))


def decode_pan(value: bytes) -> str:
    """A BMP ``22`` PAN: BCD nibbles, ``E`` a masked digit (shown as ``*``), ``F`` padding.

    Some terminals send track-2 style data here; the PAN ends at its separator ``D`` and what
    follows (expiry, service code) is dropped, as it has no place on a receipt or in a log.
    """
    out = []
    for nibble in value.hex().upper():
        if nibble.isdigit():
            out.append(nibble)
        elif nibble == "E":
            out.append("*")
        elif nibble == "D":
            break
        elif nibble != "F":
            raise ZvtError(f"PAN nibble {nibble} is neither a digit, E (masked) nor F (padding)")
    return "".join(out)


def encode_pan(pan: str) -> bytes:
    """The value of BMP ``22`` for ``pan`` (``*`` for masked digits)."""
    nibbles = "".join("E" if char == "*" else char for char in pan)
    if not all(char.isdigit() or char == "E" for char in nibbles) or not nibbles.isascii():
        raise ZvtError(f"a PAN holds digits and * only, got {pan!r}")
    if len(nibbles) % 2:
        nibbles += "F"
    return bytes.fromhex(nibbles)


# -- LLVAR / LLLVAR -----------------------------------------------------------------------------


def encode_var(value: bytes, digits: int) -> bytes:
    """``value`` with its length as ``digits`` bytes ``F0+digit`` (LLVAR: 2, LLLVAR: 3)."""
    if len(value) >= 10**digits:
        raise ZvtError(f"{len(value)} bytes do not fit a {digits}-digit length")
    return bytes(0xF0 | int(d) for d in str(len(value)).zfill(digits)) + value


def _var_length(data: bytes, at: int, digits: int) -> int:
    prefix = data[at : at + digits]
    if len(prefix) < digits:
        raise ZvtError(f"truncated {digits}-digit length at offset {at}")
    if any(byte >> 4 != 0xF or byte & 0x0F > 9 for byte in prefix):
        raise ZvtError(f"bad variable length bytes {prefix.hex(' ')} at offset {at}")
    return int("".join(str(byte & 0x0F) for byte in prefix))


def decode_var(data: bytes, at: int, digits: int) -> tuple[bytes, int]:
    """The LL(L)VAR value starting at ``at`` and the offset after it."""
    size = _var_length(data, at, digits)
    start = at + digits
    if start + size > len(data):
        raise ZvtError(f"variable field of {size} bytes at offset {at} runs past the end")
    return data[start : start + size], start + size


# -- BMPs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bmps:
    """Decoded BMPs in wire order (raw values, length prefixes removed).

    ``rest`` holds the bytes from the first tag this table does not know: they cannot be cut
    without knowing that tag's length, so they are kept, not guessed at.
    """

    fields: tuple[tuple[int, bytes], ...] = ()
    rest: bytes = b""

    def get(self, tag: int) -> bytes | None:
        """The value of the first BMP ``tag``, or None."""
        for key, value in self.fields:
            if key == tag:
                return value
        return None

    def __contains__(self, tag: object) -> bool:
        return any(key == tag for key, _ in self.fields)


def encode_bmp(tag: int, value: bytes) -> bytes:
    """One BMP: the tag and its value, with the length prefix its format needs."""
    if tag not in BMP_FORMATS:
        raise ZvtError(f"unknown BMP {tag:02X}")
    kind, size = BMP_FORMATS[tag]
    if kind in ("bin", "bcd"):
        if len(value) != size:
            raise ZvtError(f"BMP {tag:02X} takes {size} bytes, got {len(value)}")
        return bytes((tag,)) + value
    if kind == "tlv":
        return bytes((tag,)) + ber_length(len(value)) + value
    return bytes((tag,)) + encode_var(value, 2 if kind == "ll" else 3)


def encode_bmps(fields: Iterable[tuple[int, bytes]]) -> bytes:
    return b"".join(encode_bmp(tag, value) for tag, value in fields)


def decode_bmps(data: bytes) -> Bmps:
    """BMPs until the end or the first unknown tag; raises :class:`ZvtError` when truncated."""
    fields: list[tuple[int, bytes]] = []
    at = 0
    while at < len(data):
        tag = data[at]
        if tag not in BMP_FORMATS:
            return Bmps(tuple(fields), data[at:])
        kind, size = BMP_FORMATS[tag]
        at += 1
        if kind in ("bin", "bcd"):
            value = data[at : at + size]
            if len(value) != size:
                raise ZvtError(f"BMP {tag:02X} needs {size} bytes, {len(value)} left")
            at += size
        elif kind == "tlv":
            length, at = read_ber_length(data, at)
            value = data[at : at + length]
            if len(value) != length:
                raise ZvtError(f"TLV container of {length} bytes runs past the end")
            at += length
        else:
            value, at = decode_var(data, at, 2 if kind == "ll" else 3)
        fields.append((tag, value))
    return Bmps(tuple(fields))


# -- BER-TLV (the BMP 06 container) -------------------------------------------------------------

MAX_TLV_DEPTH: Final = 8


def ber_length(size: int) -> bytes:
    """A BER length: one byte below 128, else ``81 xx`` or ``82 xx xx``."""
    if size < 0x80:
        return bytes((size,))
    if size <= 0xFF:
        return bytes((0x81, size))
    if size <= 0xFFFF:
        return bytes((0x82, size >> 8, size & 0xFF))
    raise ZvtError(f"TLV value of {size} bytes is too long")


def read_ber_length(data: bytes, at: int) -> tuple[int, int]:
    """The BER length at ``at`` and the offset after it."""
    if at >= len(data):
        raise ZvtError("missing TLV length")
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count not in (1, 2) or at + 1 + count > len(data):
        raise ZvtError(f"bad or truncated TLV length {data[at : at + 1 + count].hex(' ')}")
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


@dataclass(frozen=True, slots=True)
class Tlv:
    """One TLV item: ``tag`` as its wire bytes read big-endian (``0x1F07``); a constructed
    item (bit 0x20 of its first tag byte) has ``children`` and no primitive ``value``."""

    tag: int
    value: bytes = b""
    children: tuple[Tlv, ...] = field(default=())

    @property
    def constructed(self) -> bool:
        return bool(_first_tag_byte(self.tag) & 0x20)

    def find(self, tag: int) -> list[Tlv]:
        """Every descendant (depth first) with ``tag``."""
        found: list[Tlv] = []
        for child in self.children:
            if child.tag == tag:
                found.append(child)
            found += child.find(tag)
        return found


def _first_tag_byte(tag: int) -> int:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")[0]


def encode_tlv(items: Iterable[Tlv]) -> bytes:
    out = bytearray()
    for item in items:
        tag = item.tag.to_bytes(max(1, (item.tag.bit_length() + 7) // 8), "big")
        value = encode_tlv(item.children) if item.constructed else item.value
        out += tag + ber_length(len(value)) + value
    return bytes(out)


def decode_tlv(data: bytes, depth: int = 0) -> tuple[Tlv, ...]:
    """The TLV items of a container; raises :class:`ZvtError` on anything malformed."""
    if depth > MAX_TLV_DEPTH:
        raise ZvtError(f"TLV nested deeper than {MAX_TLV_DEPTH} levels")
    items: list[Tlv] = []
    at = 0
    while at < len(data):
        start = at
        if data[at] & 0x1F == 0x1F:  # multi-byte tag: more bytes while bit 8 is set
            at += 1
            while at < len(data) and data[at] & 0x80:
                at += 1
            if at >= len(data) or at - start > 3:
                raise ZvtError(f"bad or truncated TLV tag at offset {start}")
        at += 1
        tag = int.from_bytes(data[start:at], "big")
        length, at = read_ber_length(data, at)
        value = data[at : at + length]
        if len(value) != length:
            raise ZvtError(f"TLV {tag:X} of {length} bytes runs past the end")
        at += length
        if data[start] & 0x20:
            items.append(Tlv(tag, children=decode_tlv(value, depth + 1)))
        else:
            items.append(Tlv(tag, value))
    return tuple(items)
