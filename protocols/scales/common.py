"""What the scale codecs share: typed errors, exact units, the decoded reading, the message queue.

Units
-----
A weight is kept as integer milligrams (principle 5: exact, never a float). A scale sends a
decimal number in its display unit; :func:`to_milligrams` converts it with ``Decimal`` and
rounds half-even to the milligram. The pound is the international pound, exactly
0.453 592 37 kg (International Yard and Pound Agreement of 1959, as tabulated in NIST SP 811
appendix B), and the avoirdupois ounce a sixteenth of it, 28.349 523 125 g.

Streaming parsers
-----------------
Each protocol has a parser that takes bytes with ``feed`` and hands out messages with
``next``. ``next`` returns ``None`` when no complete message is waiting, and raises the
:class:`ScaleProtocolError` of a bad frame at the place the frame had in the stream; the
messages after it stay queued, so the caller catches, logs and calls again. What comes out
depends on the bytes alone, never on how a serial port split them between reads, and no
parser holds more than a bounded number of bytes whatever the line sends.
"""

from __future__ import annotations

import collections
import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final, Generic, TypeVar

import msgspec

T = TypeVar("T")

RAW_LIMIT: Final = 64  # bytes of a bad frame kept in an error, enough to find it in a log
MAX_NUMBER_LENGTH: Final = 16  # characters of a weight field; scales send 6 to 10

MILLIGRAMS_PER_UNIT: Final[dict[str, Decimal]] = {
    "mg": Decimal(1),
    "g": Decimal(1000),
    "kg": Decimal(1_000_000),
    "lb": Decimal("453592.37"),
    "oz": Decimal("28349.523125"),
}

# ASCII digits only: ``\d`` would also take digits of other scripts, which no scale sends.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class ScaleProtocolError(ValueError):
    """Base of every scale codec error: bad bytes from a scale raise nothing else.

    ``raw`` holds the offending bytes (the first :data:`RAW_LIMIT` of them) for the log.
    """

    def __init__(self, message: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.raw = bytes(raw[:RAW_LIMIT])


class FrameError(ScaleProtocolError):
    """Bytes that are no well-formed answer: a marker, length, checksum or field is wrong."""


class FrameTooLong(FrameError):
    """A frame ran past the protocol's longest answer without its end marker; it is skipped."""


class UnitError(ScaleProtocolError):
    """A weight in a unit that cannot be converted exactly to milligrams."""


class ScaleReading(msgspec.Struct, frozen=True, kw_only=True):
    """One weight as a codec decodes it, whatever the protocol.

    ``milligrams`` is the net weight the scale shows, 0 when the answer carried no number (an
    overload, or a Toledo status answer). ``stable`` is False while the load moves and
    whenever the scale gave no valid weight. ``unit`` is the scale's display unit, ``raw`` the
    answer with control bytes shown as ``<XX>``.
    """

    milligrams: int
    stable: bool
    overload: bool = False
    underload: bool = False
    unit: str = "kg"
    raw: str = ""


def printable(raw: bytes) -> str:
    """``raw`` as text for a log: printable ASCII kept, every other byte as ``<XX>``."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"<{b:02X}>" for b in raw)


def parse_number(text: str, raw: bytes = b"") -> Decimal:
    """The decimal number in a weight field (blanks around it allowed); raises ``FrameError``.

    A sign, digits and at most one point: ``"  12.345"``, ``"-0.50"``, ``"100"``. Exponents,
    ``NaN``, infinities and thousands separators, which ``Decimal`` would take, are refused.
    """
    stripped = text.strip(" ")
    if len(stripped) > MAX_NUMBER_LENGTH or not _NUMBER.fullmatch(stripped):
        raise FrameError(f"not a weight: {text!r}", raw)
    return Decimal(stripped)


def normalise_unit(text: str) -> str:
    """A unit as scales write it (``KG``, ``kg``, ``g ``) in the form used here (``kg``, ``g``)."""
    return text.strip(" ").lower()


def to_milligrams(value: Decimal, unit: str, raw: bytes = b"") -> int:
    """``value`` in ``unit`` as whole milligrams, rounded half-even; raises ``UnitError``."""
    factor = MILLIGRAMS_PER_UNIT.get(normalise_unit(unit))
    if factor is None:
        known = ", ".join(MILLIGRAMS_PER_UNIT)
        raise UnitError(f"unknown weight unit {unit!r} (known: {known})", raw)
    return int((value * factor).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_milligrams(milligrams: int, unit: str, decimals: int) -> Decimal:
    """``milligrams`` in ``unit`` with ``decimals`` places, rounded half-even (the device side).

    A scale shows its weight to one display division; this is that rounding, with the
    division one unit of the last place.
    """
    factor = MILLIGRAMS_PER_UNIT.get(normalise_unit(unit))
    if factor is None:
        raise UnitError(f"unknown weight unit {unit!r}")
    if not 0 <= decimals <= 6:
        raise ValueError(f"decimals must be 0..6, not {decimals}")
    return (Decimal(milligrams) / factor).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


class MessageQueue(Generic[T]):
    """Decoded messages and errors in stream order, as the parsers hand them out."""

    def __init__(self) -> None:
        self._items: collections.deque[T | ScaleProtocolError] = collections.deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T | ScaleProtocolError) -> None:
        self._items.append(item)

    def last(self) -> T | ScaleProtocolError | None:
        """The newest queued item (not taken), or None."""
        return self._items[-1] if self._items else None

    def replace_last(self, item: T) -> None:
        """Swap the newest queued item for ``item`` (a parser growing a message it queued)."""
        self._items[-1] = item

    def clear(self) -> None:
        self._items.clear()

    def next(self) -> T | None:
        """The oldest item; raises it if it is an error; None when the queue is empty."""
        if not self._items:
            return None
        item = self._items.popleft()
        if isinstance(item, ScaleProtocolError):
            raise item
        return item
