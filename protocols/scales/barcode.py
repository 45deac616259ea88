"""EAN-13 barcodes of weighed (or priced) items, as label scales print them.

A label scale weighs an item and prints a store-internal EAN-13 carrying the item's code and
its weight in grams or its price in cents. The default layout::

    2F IIIII VVVVV C
    |  |     |     check digit (mod 10, over the 12 digits before it)
    |  |     value: weight in grams, or price in cents (5 digits)
    |  item code (5 digits), the store's own numbering (PLU)
    flag: 2 and one more digit (20..29)

Which flags mark such codes and how the 12 digits are split is a store setting: some stores
use one flag (``28`` weight, ``29`` price), others a 6-digit item code after a single ``2``
(``2 IIIIII VVVVV C``). :class:`WeightBarcodeLayout` holds that setting; ``prefix`` is what
the code must start with, ``flag_digits`` how many digits come before the item code.

The check digit is the EAN/GS1 mod-10 check: the 12 digits from the left weighted 1, 3, 1,
3, ..., summed, and the check digit brings the sum to a multiple of 10.

Sources: ``shared/reference/device-protocols.md`` ("Scales": prefix 2, item code, weight in
grams or price in cents, check digit, the layout a store setting); GS1 General
Specifications (the mod-10 check digit; prefixes 20-29 are restricted circulation numbers,
free for use inside a company). ``4006381333931`` is a valid EAN-13 used as a check-digit
vector in the tests.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from protocols.scales.common import ScaleProtocolError

EAN13_LENGTH: Final = 13
DIGITS: Final = frozenset("0123456789")  # str.isdigit() would also take "²" and Arabic digits

Digits = Annotated[int, msgspec.Meta(ge=1, le=10)]


class BarcodeError(ScaleProtocolError):
    """A code that is no valid weight barcode: length, characters, check digit or prefix."""


class WeightBarcodeLayout(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a store's label scales build their codes; the 12 digits before the check must add up."""

    prefix: str = "2"
    flag_digits: Digits = 2
    item_digits: Digits = 5
    value_digits: Digits = 5
    value: Literal["weight", "price"] = "weight"

    def __post_init__(self) -> None:
        if not self.prefix or not set(self.prefix) <= DIGITS or len(self.prefix) > self.flag_digits:
            raise ValueError(f"prefix must be 1 to flag_digits digits, not {self.prefix!r}")
        total = self.flag_digits + self.item_digits + self.value_digits
        if total != EAN13_LENGTH - 1:
            raise ValueError(f"flag, item and value digits must add up to 12, not {total}")


DEFAULT_LAYOUT: Final = WeightBarcodeLayout()


class WeighedItem(msgspec.Struct, frozen=True, kw_only=True):
    """What a weight barcode says: the item code, the value and what the value is."""

    code: str
    item: str
    value: int
    kind: Literal["weight", "price"]

    @property
    def weight_milligrams(self) -> int | None:
        """The weight in milligrams (the code carries grams), None for a price code."""
        return self.value * 1000 if self.kind == "weight" else None

    @property
    def price_cents(self) -> int | None:
        """The price in cents (minor units), None for a weight code."""
        return self.value if self.kind == "price" else None


def check_digit(digits: str) -> str:
    """The EAN-13 check digit of 12 digits."""
    if len(digits) != EAN13_LENGTH - 1 or not set(digits) <= DIGITS:
        raise BarcodeError(f"a check digit is computed over 12 digits, not {digits!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return str(-total % 10)


def is_valid_ean13(code: str) -> bool:
    """Whether ``code`` is 13 digits with a correct check digit."""
    return len(code) == EAN13_LENGTH and set(code) <= DIGITS and check_digit(code[:-1]) == code[-1]


def matches(code: str, layout: WeightBarcodeLayout = DEFAULT_LAYOUT) -> bool:
    """Whether ``code`` looks like a weight barcode of ``layout`` (13 digits, the prefix).

    Cheap, for telling such codes from ordinary product codes; :func:`decode` also checks
    the check digit.
    """
    return len(code) == EAN13_LENGTH and set(code) <= DIGITS and code.startswith(layout.prefix)


def decode(code: str, layout: WeightBarcodeLayout = DEFAULT_LAYOUT) -> WeighedItem:
    """The item and value in ``code``; raises ``BarcodeError`` for anything else."""
    if len(code) != EAN13_LENGTH or not set(code) <= DIGITS:
        raise BarcodeError(f"an EAN-13 is 13 digits, not {code[:32]!r}", code[:32].encode("utf-8", "replace"))
    if check_digit(code[:-1]) != code[-1]:
        raise BarcodeError(f"check digit of {code} should be {check_digit(code[:-1])}", code.encode("ascii"))
    if not code.startswith(layout.prefix):
        raise BarcodeError(f"{code} does not start with {layout.prefix}", code.encode("ascii"))
    item_start = layout.flag_digits
    value_start = item_start + layout.item_digits
    return WeighedItem(
        code=code,
        item=code[item_start:value_start],
        value=int(code[value_start : value_start + layout.value_digits]),
        kind=layout.value,
    )


def encode(
    item: str, value: int, layout: WeightBarcodeLayout = DEFAULT_LAYOUT, *, flag: str | None = None
) -> str:
    """The code a label scale prints for ``item`` and ``value`` (grams or cents).

    ``flag`` is the full flag (``"28"``); by default the prefix padded with zeros.
    """
    flag = flag if flag is not None else layout.prefix.ljust(layout.flag_digits, "0")
    if len(flag) != layout.flag_digits or not set(flag) <= DIGITS or not flag.startswith(layout.prefix):
        raise ValueError(f"flag must be {layout.flag_digits} digits starting with {layout.prefix}")
    if len(item) != layout.item_digits or not set(item) <= DIGITS:
        raise ValueError(f"item code must be {layout.item_digits} digits, not {item!r}")
    if not 0 <= value < 10**layout.value_digits:
        raise ValueError(f"value {value} does not fit in {layout.value_digits} digits")
    body = f"{flag}{item}{value:0{layout.value_digits}d}"
    return body + check_digit(body)
