"""Exact money, quantities and percentages (architecture principle 5).

* Amounts are ``int`` minor units (cents, feninga) everywhere: API, database, MQTT. A float or
  a string where an amount belongs is refused at the API edge by msgspec (``Amount`` below).
* Quantities are ``Decimal`` with at most 3 places (grams of a kilo); in JSON they are strings
  ("1", "0.255"). Percentages and tax rates are ``Decimal`` strings too ("17", "5.5").
* Arithmetic is ``Decimal``; every rounding names its mode. ``ROUND_HALF_UP`` (commercial
  rounding, what receipts and tax offices in our markets expect) is the default.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

import msgspec

MAX_AMOUNT = 10**12  # minor units: ten billion in a 2-decimal currency; far past any sale
MAX_QUANTITY = Decimal("1000000")

Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]
"""A non-negative amount in minor units (JSON integer; floats and strings are refused)."""

SignedAmount = Annotated[int, msgspec.Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]

QuantityText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,7}(\.[0-9]{1,3})?$")]
"""A quantity as it travels in JSON: digits with up to 3 decimals, e.g. "2" or "0.255"."""

PercentText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,3}(\.[0-9]{1,4})?$")]
"""A percentage as it travels in JSON: "17", "5.5", "0"; at most 4 decimals."""

ONE = Decimal(1)
HUNDRED = Decimal(100)
QUANTITY_STEP = Decimal("0.001")


class MoneyError(ValueError):
    """A quantity, percentage or amount that is not acceptable; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_quantity(text: str, *, allow_zero: bool = False) -> Decimal:
    """A quantity string ("2", "0.255") as a Decimal with at most 3 places."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise MoneyError("invalid_quantity", f"quantity {text!r} is not a number") from None
    if not value.is_finite() or value != value.quantize(QUANTITY_STEP):
        raise MoneyError("invalid_quantity", f"quantity {text!r} has more than 3 decimals")
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError("invalid_quantity", f"quantity must be greater than 0, got {text!r}")
    if value > MAX_QUANTITY:
        raise MoneyError("invalid_quantity", f"quantity {text!r} is too large")
    return value.normalize() if value == value.to_integral_value() else value


def parse_percent(text: str) -> Decimal:
    """A percentage string ("17", "5.5") as a Decimal between 0 and 100."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise MoneyError("invalid_percent", f"percentage {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value > HUNDRED:
        raise MoneyError("invalid_percent", f"percentage must be between 0 and 100, got {text!r}")
    return value


def format_quantity(value: Decimal) -> str:
    """The JSON form of a quantity: no exponent, no trailing zeros ("2", "0.255")."""
    text = format(value.quantize(QUANTITY_STEP), "f").rstrip("0").rstrip(".")
    return text or "0"


def format_signed_quantity(value: Decimal) -> str:
    """A quantity that may be negative (stock after overselling, a refund line): "-2", "0.5"."""
    return ("-" if value < 0 else "") + format_quantity(abs(value))


def format_percent(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def round_minor(value: Decimal) -> int:
    """A Decimal amount in minor units rounded half-up to a whole minor unit."""
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def format_amount(minor: int, exponent: int = 2) -> str:
    """Minor units as the receipt shows them: 1234 -> "12.34" (no currency, no grouping)."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    if exponent == 0:
        return f"{sign}{minor}"
    whole, frac = divmod(minor, 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}"
