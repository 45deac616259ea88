"""Checking a ``POST /api/v3/invoices`` body the way an SDC does before it signs anything.

A bad request is answered ``400`` with ``{"message": ..., "modelState": [{"property": ...,
"errors": [code, ...]}]}``: the property path of each bad field and TaxCore-style numeric
codes (28xx for the invoice request fields, 2310 for tax labels the SDC does not know). Nothing
is signed and no counter moves.

Amounts are read as exact decimals (``json.loads(..., parse_float=Decimal)``), never floats: an
amount with more than two decimals, or a quantity with more than three, is refused rather than
rounded, so a signed total is always the total the POS meant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# The codes this simulator answers with; TaxCore publishes its list of 28xx request codes.
REQUIRED, TOO_LONG, OUT_OF_RANGE, INVALID_VALUE, INVALID_FORMAT, LIST_TOO_SHORT = (
    "2800",
    "2801",
    "2804",
    "2805",
    "2806",
    "2807",
)
INVALID_TAX_LABELS = "2310"

INVOICE_TYPES = ("Normal", "Proforma", "Copy", "Training", "Advance")
TRANSACTION_TYPES = ("Sale", "Refund")
PAYMENT_TYPES = ("Other", "Cash", "Card", "Check", "WireTransfer", "Voucher", "MobileMoney")
MAX_ITEMS = 500
MAX_REQUEST_ID = 32


@dataclass(frozen=True)
class Item:
    name: str
    gtin: str
    labels: tuple[str, ...]
    unit_price: Decimal
    quantity: Decimal
    total: Decimal


@dataclass(frozen=True)
class Invoice:
    """A request that passed every check, in exact decimals."""

    invoice_type: str
    transaction_type: str
    items: tuple[Item, ...]
    payments: tuple[tuple[str, Decimal], ...]
    cashier: str = ""
    buyer_id: str = ""
    referent_number: str = ""
    referent_dt: str = ""
    issued_at: str = ""

    @property
    def total(self) -> Decimal:
        return sum((item.total for item in self.items), Decimal("0"))


@dataclass
class Problems:
    """The modelState being collected: property path -> codes."""

    by_property: dict[str, list[str]] = field(default_factory=dict)

    def add(self, prop: str, code: str) -> None:
        codes = self.by_property.setdefault(prop, [])
        if code not in codes:
            codes.append(code)

    def model_state(self) -> list[dict[str, Any]]:
        return [{"property": prop, "errors": codes} for prop, codes in self.by_property.items()]


class InvalidRequest(Exception):
    """The request breaks the rules; ``model_state`` says where and how."""

    def __init__(self, model_state: list[dict[str, Any]], message: str = "Bad Request") -> None:
        super().__init__(message)
        self.message = message
        self.model_state = model_state


def parse_invoice(raw: bytes, known_labels: set[str]) -> Invoice:
    """Decode and check a request body; raises :class:`InvalidRequest` with every problem found."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest([{"property": "", "errors": [INVALID_FORMAT]}], "Invalid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest([{"property": "", "errors": [INVALID_FORMAT]}], "Expected a JSON object")
    problems = Problems()
    invoice_type = _enum(body, "invoiceType", INVOICE_TYPES, problems)
    transaction_type = _enum(body, "transactionType", TRANSACTION_TYPES, problems)
    items = _items(body.get("items"), known_labels, problems)
    payments = _payments(body.get("payment"), problems)
    cashier = _text(body, "cashier", 50, problems)
    buyer_id = _text(body, "buyerId", 20, problems)
    referent_number = _text(body, "referentDocumentNumber", 50, problems)
    referent_dt = _time(body, "referentDocumentDT", problems)
    issued_at = _time(body, "dateAndTimeOfIssue", problems)
    if transaction_type == "Refund":
        # A refund names the invoice it refunds, number and SDC time both.
        if not referent_number:
            problems.add("referentDocumentNumber", REQUIRED)
        if not referent_dt:
            problems.add("referentDocumentDT", REQUIRED)
    if items and payments and not problems.by_property:
        paid = sum((amount for _, amount in payments), Decimal("0"))
        if paid != sum((item.total for item in items), Decimal("0")):
            problems.add("payment", INVALID_VALUE)
    if problems.by_property:
        raise InvalidRequest(problems.model_state())
    assert invoice_type is not None  # no problems means both enums were read
    assert transaction_type is not None
    return Invoice(
        invoice_type,
        transaction_type,
        tuple(items),
        tuple(payments),
        cashier,
        buyer_id,
        referent_number,
        referent_dt,
        issued_at,
    )


def check_request_id(value: str | None) -> None:
    """The ``RequestId`` header is optional and at most 32 characters."""
    if value is not None and (not value or len(value) > MAX_REQUEST_ID):
        raise InvalidRequest([{"property": "RequestId", "errors": [TOO_LONG if value else REQUIRED]}])


def _enum(
    body: dict[str, Any], key: str, names: tuple[str, ...], problems: Problems, at: str = ""
) -> str | None:
    """An enum field, given by name or by its position (both are accepted by SDCs)."""
    value, prop = body.get(key), at + key
    if value is None:
        problems.add(prop, REQUIRED)
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value in names:
        return value
    problems.add(prop, INVALID_VALUE)
    return None


def _text(body: dict[str, Any], key: str, limit: int, problems: Problems, at: str = "") -> str:
    """An optional string field of at most ``limit`` characters; ``at`` prefixes its path."""
    value, prop = body.get(key), at + key
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(prop, INVALID_FORMAT)
        return ""
    if len(value) > limit:
        problems.add(prop, TOO_LONG)
    return value


def _time(body: dict[str, Any], key: str, problems: Problems) -> str:
    value = _text(body, key, 64, problems)
    if value:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            problems.add(key, INVALID_FORMAT)
            return ""
    return value


def _decimal(value: Any, prop: str, places: int, problems: Problems, *, positive: bool = False) -> Decimal:
    """A JSON number with at most ``places`` decimals, >= 0 (> 0 when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        problems.add(prop, REQUIRED if value is None else INVALID_FORMAT)
        return Decimal("0")
    try:
        number = Decimal(value)
        exponent = number.as_tuple().exponent
    except InvalidOperation:
        problems.add(prop, INVALID_FORMAT)
        return Decimal("0")
    if not isinstance(exponent, int) or -exponent > places:
        problems.add(prop, INVALID_FORMAT)
    if number < 0 or (positive and number == 0) or number >= Decimal("1e12"):
        problems.add(prop, OUT_OF_RANGE)
    return number


def _items(raw: Any, known_labels: set[str], problems: Problems) -> list[Item]:
    if not isinstance(raw, list) or not raw:
        problems.add("items", REQUIRED if raw is None else LIST_TOO_SHORT)
        return []
    if len(raw) > MAX_ITEMS:
        problems.add("items", OUT_OF_RANGE)
        return []
    items = []
    for index, entry in enumerate(raw):
        at = f"items[{index}]"
        if not isinstance(entry, dict):
            problems.add(at, INVALID_FORMAT)
            continue
        name = _text(entry, "name", 2048, problems, f"{at}.")
        if not name.strip():
            problems.add(f"{at}.name", REQUIRED)
        gtin = _text(entry, "gtin", 14, problems, f"{at}.")
        labels = entry.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            problems.add(f"{at}.labels", REQUIRED if labels is None else INVALID_FORMAT)
            labels = []
        elif not set(labels) <= known_labels:
            problems.add(f"{at}.labels", INVALID_TAX_LABELS)
        unit_price = _decimal(entry.get("unitPrice"), f"{at}.unitPrice", 2, problems)
        quantity = _decimal(entry.get("quantity"), f"{at}.quantity", 3, problems, positive=True)
        total = _decimal(entry.get("totalAmount"), f"{at}.totalAmount", 2, problems)
        # A discounted line carries its price after the discount, rounded to cents, so the
        # product may miss the total by the rounding of the price times the quantity.
        slack = Decimal("0.005") * quantity + Decimal("0.005")
        if abs(unit_price * quantity - total) > slack:
            problems.add(f"{at}.totalAmount", INVALID_VALUE)
        items.append(Item(name, gtin, tuple(labels), unit_price, quantity, total))
    return items


def _payments(raw: Any, problems: Problems) -> list[tuple[str, Decimal]]:
    if not isinstance(raw, list) or not raw:
        problems.add("payment", REQUIRED if raw is None else LIST_TOO_SHORT)
        return []
    payments = []
    for index, entry in enumerate(raw):
        at = f"payment[{index}]"
        if not isinstance(entry, dict):
            problems.add(at, INVALID_FORMAT)
            continue
        kind = _enum(entry, "paymentType", PAYMENT_TYPES, problems, f"{at}.")
        amount = _decimal(entry.get("amount"), f"{at}.amount", 2, problems)
        payments.append((kind or "Other", amount))
    return payments
