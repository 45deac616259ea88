"""The documents facts carry: a sale, invoice or refund as the hub recorded it.

Field for field what the hub writes into its outbox (a contract test on the hub side decodes
its own outbox rows with these types). Amounts are integer minor units; quantities and rates
are decimal strings (architecture principle 5).
"""

from __future__ import annotations

from typing import Literal

import msgspec


class _Doc(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """Readers ignore fields they do not know, so a newer hub can add fields (minor version)."""


class Buyer(_Doc, kw_only=True):
    company_name: str
    tax_id: str
    address: str


class SaleLine(_Doc, kw_only=True):
    id: int
    line_no: int
    product_id: int | None
    variant_id: int | None
    name: str
    quantity: str
    unit_price: int
    gratis_quantity: str
    gross: int
    discount: int
    net: int
    total: int
    note: str
    refund_of_line: int | None
    refunded_quantity: str


class SaleTax(_Doc, kw_only=True):
    rate_id: int
    name: str
    rate: str
    inclusive: bool
    base: int
    amount: int


class SalePayment(_Doc, kw_only=True):
    tender_id: str
    tender_type: str
    amount: int
    tendered: int
    change: int
    rounding: int
    reference: str | None
    comment: str | None


class SaleDocument(_Doc, kw_only=True):
    """A completed receipt, B2B invoice or refund (refund amounts are negative)."""

    id: int
    uuid: str
    doc_type: Literal["receipt", "invoice", "refund"]
    number: int
    number_text: str
    terminal_id: str
    training: bool
    customer_id: int | None
    buyer: Buyer | None
    seller: str
    refund_of: int | None
    reason: str | None
    currency: str
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    rounding: int
    paid_total: int
    change_total: int
    balance_due: int
    created_at: str
    lines: list[SaleLine]
    taxes: list[SaleTax]
    payments: list[SalePayment]
