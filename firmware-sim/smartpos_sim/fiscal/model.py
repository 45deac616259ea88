"""The fiscal memory's records (receipts, lines, payments, daily totals, refusals) and the
reading of command parameters that every protocol adapter shares.

Money is integers in minor units (cents), quantities ``Decimal``. The records are plain data
with a ``to_json`` for the control port; the rules live in :mod:`smartpos_sim.fiscal.engine`.
Device parameters are text: amounts with up to two decimals ("12.50"), quantities with up to
three, dates in each protocol's format. A value that does not parse raises :class:`BadParam`
with its 1-based position, which each adapter turns into its protocol's syntax error (Datecs X
even has one error code per parameter position).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

TAX_GROUPS = "ABCDEFGH"
MAX_AMOUNT = 999_999_999  # 9 999 999.99: the largest amount any of the three protocols prints

ReceiptKind = Literal["sale", "storno"]
StornoReason = Literal["operator_error", "refund", "tax_base_reduction"]
STORNO_REASONS: tuple[StornoReason, ...] = ("operator_error", "refund", "tax_base_reduction")


class Refusal(enum.Enum):
    """Why the fiscal memory refused an operation; each protocol maps these to its own codes."""

    ALREADY_OPEN = "a fiscal receipt is already open"
    RECEIPT_OPEN = "not allowed while a fiscal receipt is open"
    RECEIPT_CLOSED = "no fiscal receipt is open"
    PAYMENT_STARTED = "payment has started"
    NO_SALES = "the receipt has no sales"
    PAYMENT_NOT_STARTED = "the receipt has no payment"
    NOT_PAID = "the receipt is not fully paid"
    FULLY_PAID = "the receipt is already fully paid"
    STORNO_CHANGE = "a storno receipt cannot give change"
    NEGATIVE_TURNOVER = "a tax group or line would go negative"
    ZERO_SALE = "price times quantity is zero"
    ZERO_PAYMENT = "no amount to pay"
    NO_CASH = "not enough cash in the drawer"
    OVERFLOW = "amount too large"
    PAPER_OUT = "out of paper"
    NOTHING_TO_PRINT = "no closed receipt to duplicate"
    DUPLICATE_PRINTED = "the duplicate was already printed"


class Refused(Exception):
    """An operation the device refuses; nothing changed."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


def zero_groups() -> dict[str, int]:
    """A zero amount for each tax group A..H."""
    return dict.fromkeys(TAX_GROUPS, 0)


@dataclass(slots=True)
class Item:
    """One sale line: ``total`` = round(unit_price x quantity) + ``adjustment`` (signed)."""

    name: str
    group: str
    unit_price: int
    quantity: Decimal
    adjustment: int
    total: int

    def to_json(self) -> dict[str, Any]:
        """The line as the control port shows it (quantity as a decimal string)."""
        return {
            "name": self.name,
            "tax_group": self.group,
            "unit_price": self.unit_price,
            "quantity": str(self.quantity),
            "adjustment": self.adjustment,
            "total": self.total,
        }


@dataclass(slots=True)
class Payment:
    kind: str
    amount: int


@dataclass(frozen=True, slots=True)
class StornoOf:
    """What a storno receipt refers to: the original document as the device printed it."""

    reason: StornoReason
    document: int
    at: str
    fm_number: str
    unique_sale_number: str = ""


@dataclass(slots=True)
class Receipt:
    """A fiscal receipt (sale or storno) from opening until it is closed or cancelled."""

    number: int
    kind: ReceiptKind
    operator: str
    till: int
    opened_at: str
    unique_sale_number: str = ""
    storno_of: StornoOf | None = None
    items: list[Item] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    closed_at: str | None = None
    cancelled: bool = False
    duplicated: bool = False

    @property
    def total(self) -> int:
        """What the receipt's lines come to."""
        return sum(item.total for item in self.items)

    @property
    def paid(self) -> int:
        """All payments so far, change included."""
        return sum(payment.amount for payment in self.payments)

    @property
    def due(self) -> int:
        """What is still to pay."""
        return max(0, self.total - self.paid)

    @property
    def change(self) -> int:
        """What was paid beyond the total."""
        return max(0, self.paid - self.total) if self.payments else 0

    def group_totals(self) -> dict[str, int]:
        """The receipt's total per tax group."""
        totals = zero_groups()
        for item in self.items:
            totals[item.group] += item.total
        return totals

    def to_json(self) -> dict[str, Any]:
        """The receipt as the control port's ``receipts`` and ``state`` show it."""
        return {
            "number": self.number,
            "kind": self.kind,
            "operator": self.operator,
            "till": self.till,
            "unique_sale_number": self.unique_sale_number or None,
            "storno_of": None
            if self.storno_of is None
            else {
                "reason": self.storno_of.reason,
                "document": self.storno_of.document,
                "at": self.storno_of.at,
                "fm_number": self.storno_of.fm_number,
                "unique_sale_number": self.storno_of.unique_sale_number or None,
            },
            "items": [item.to_json() for item in self.items],
            "payments": [{"kind": p.kind, "amount": p.amount} for p in self.payments],
            "comments": list(self.comments),
            "total": self.total,
            "paid": self.paid,
            "change": self.change,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "cancelled": self.cancelled,
            "duplicated": self.duplicated,
        }


@dataclass(slots=True)
class DailyTotals:
    """What a Z report prints and then zeroes."""

    sales: dict[str, int] = field(default_factory=zero_groups)
    storno: dict[str, int] = field(default_factory=zero_groups)
    fiscal_receipts: int = 0  # closed or cancelled sale receipts since the last Z
    storno_receipts: int = 0
    documents: int = 0  # every document printed: receipts, reports, cash slips, duplicates
    payments: dict[str, int] = field(default_factory=dict)
    cash_in: int = 0
    cash_out: int = 0

    def to_json(self) -> dict[str, Any]:
        """The day's registers as the control port's ``state`` shows them."""
        return {
            "sales": dict(self.sales),
            "storno": dict(self.storno),
            "fiscal_receipts": self.fiscal_receipts,
            "storno_receipts": self.storno_receipts,
            "documents": self.documents,
            "payments": dict(self.payments),
            "cash_in": self.cash_in,
            "cash_out": self.cash_out,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """An X or Z report as printed: its number and the day's totals per tax group."""

    zeroing: bool
    number: int
    sales: dict[str, int]
    storno: dict[str, int]
    cash_sum: int

    @property
    def total(self) -> int:
        """The day's sales over all tax groups."""
        return sum(self.sales.values())


@dataclass(frozen=True, slots=True)
class Transaction:
    """The open receipt, or the last one issued when none is open."""

    is_open: bool
    kind: ReceiptKind | None
    storno_reason: StornoReason | None
    number: int
    items: int
    amount: int
    paid: int
    payment_started: bool


@dataclass(frozen=True, slots=True)
class Identity:
    """What the device says about itself."""

    model: str
    firmware: str
    firmware_date: str
    firmware_time: str
    serial_number: str
    fm_number: str


# -- command parameters ---------------------------------------------------------------

_AMOUNT = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,2})?")
_QUANTITY = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")
_PERCENT = re.compile(r"-?[0-9]{1,2}(\.[0-9]{1,2})?")
# Bulgarian unique sale number: 8 alphanumerics (device serial) - 4 (operator) - 7 digits.
UNIQUE_SALE_NUMBER = re.compile(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9]{7}")


class BadParam(Exception):
    """Parameter ``index`` (1-based) is malformed (``syntax``) or has a value out of range."""

    def __init__(self, index: int, message: str, *, syntax: bool = True) -> None:
        super().__init__(f"parameter {index}: {message}")
        self.index = index
        self.syntax = syntax


def need(fields: list[str], index: int) -> str:
    """Parameter ``index`` (1-based); a missing one is a syntax error."""
    if index > len(fields):
        raise BadParam(index, "missing")
    return fields[index - 1]


def optional(fields: list[str], index: int, default: str = "") -> str:
    """Parameter ``index`` when present and not empty, else ``default``."""
    return fields[index - 1] if index <= len(fields) and fields[index - 1] != "" else default


def parse_int(text: str, index: int, low: int, high: int) -> int:
    """Digits only, within ``low..high``."""
    if not text.isdigit():
        raise BadParam(index, f"not a number: {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise BadParam(index, f"{value} is outside {low}..{high}", syntax=False)
    return value


def parse_amount(text: str, index: int, *, negative: bool = False) -> int:
    """Decimal text with up to two decimals, in minor units."""
    text = text.strip()
    if not _AMOUNT.fullmatch(text):
        raise BadParam(index, f"not an amount: {text!r}")
    if text.startswith("-") and not negative:
        raise BadParam(index, f"negative amount {text!r}", syntax=False)
    return int(Decimal(text) * 100)


def parse_quantity(text: str, index: int) -> Decimal:
    """A positive quantity with up to three decimals."""
    text = text.strip()
    if not _QUANTITY.fullmatch(text):
        raise BadParam(index, f"not a quantity: {text!r}")
    value = Decimal(text)
    if value <= 0:
        raise BadParam(index, "quantity must be positive", syntax=False)
    return value


def parse_percent(text: str, index: int) -> Decimal:
    """A signed percentage, -99.99..99.99."""
    text = text.strip()
    if not _PERCENT.fullmatch(text):
        raise BadParam(index, f"not a percentage: {text!r}")
    return Decimal(text)


def parse_datetime(text: str, index: int, *formats: str) -> datetime:
    """A date and time in one of ``formats`` (strptime); a trailing " DST" is accepted."""
    value = text.strip().removesuffix(" DST")
    for form in formats:
        try:
            # Naive on purpose: a fiscal device's clock is local wall time, without a zone.
            return datetime.strptime(value, form)
        except ValueError:
            continue
    raise BadParam(index, f"not a date and time: {text!r}")


def format_amount(minor: int) -> str:
    """Minor units as decimal text: 1250 -> "12.50", -300 -> "-3.00"."""
    sign = "-" if minor < 0 else ""
    value = abs(minor)
    return f"{sign}{value // 100}.{value % 100:02d}"


def signed_minor(minor: int, width: int) -> str:
    """Minor units with an explicit sign, zero-padded to ``width`` characters ("+00001250").

    The Datecs C answers give amounts this way ("9 bytes with sign", in stotinki).
    """
    return f"{'-' if minor < 0 else '+'}{abs(minor):0{width - 1}d}"
