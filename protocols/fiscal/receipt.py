"""What a fiscal device or signing service is asked to fiscalise, whatever its protocol.

The hub builds one :class:`FiscalReceipt` from a completed sale or refund; drivers (Datecs,
Tremol) turn it into their commands and signing adapters (TaxCore, a TSE, RKSV) into their
requests. Amounts are integers in minor units (cents) and quantities decimal strings, exactly
as the sale recorded them, so nothing is rounded twice on the way.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Minor = int
Text = Annotated[str, msgspec.Meta(max_length=256)]
# A tax group letter as fiscal devices print it (A, B, ...), 1..8 on Datecs.
TaxGroup = Annotated[str, msgspec.Meta(pattern=r"^[A-H]$")]
PaymentType = Literal["cash", "card", "check", "voucher", "credit", "other"]


class FiscalItem(msgspec.Struct, frozen=True, kw_only=True):
    """One sold (or, in a refund, returned) line."""

    name: Text
    quantity: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+(\.[0-9]{1,3})?$")]
    unit_price: Minor  # price per unit, tax included
    total: Minor  # what the line costs after its discount, tax included
    tax_group: TaxGroup
    tax_rate: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,2}(\.[0-9]{1,2})?$")]  # percent
    discount: Minor = 0  # the line's discount (total = unit_price x quantity - discount)
    gtin: Annotated[str, msgspec.Meta(max_length=14)] = ""
    unit: Annotated[str, msgspec.Meta(max_length=8)] = ""


class FiscalPayment(msgspec.Struct, frozen=True, kw_only=True):
    type: PaymentType
    amount: Minor  # what this tender paid toward the total (change excluded)
    # What the customer handed over, when more than ``amount`` (cash with change): a fiscal
    # printer registers this and prints the change; signing services take ``amount``.
    tendered: Minor = 0


class FiscalReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """A sale or refund to fiscalise. ``request_id`` is unique per document and stable across
    retries: the key a signing service or our journal finds a request by after a lost answer."""

    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    kind: Literal["sale", "refund"]
    number: Text  # the sale's own number (T1-R-000042)
    at: str  # ISO time the sale was completed, with zone
    cashier: Annotated[str, msgspec.Meta(max_length=64)]
    operator: Annotated[str, msgspec.Meta(max_length=8)] = "1"  # the device operator number
    items: Annotated[list[FiscalItem], msgspec.Meta(min_length=1, max_length=500)]
    payments: Annotated[list[FiscalPayment], msgspec.Meta(max_length=20)]
    total: Minor
    comments: Annotated[list[Text], msgspec.Meta(max_length=20)] = []
    training: bool = False
    currency_exponent: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2
    # For a refund: the fiscal number and time of the receipt it refunds, as the device or
    # service issued them.
    refund_of_number: str = ""
    refund_of_at: str = ""
    buyer_id: Annotated[str, msgspec.Meta(max_length=32)] = ""
    # The sale number the state requires on the fiscal receipt where it has one (Bulgaria's
    # "unique sale number", e.g. DT279013-0001-0000001); empty where it does not.
    unique_sale_number: Annotated[str, msgspec.Meta(max_length=32)] = ""
    # Why a refund is issued, for devices that record it with the refund (Datecs storno).
    refund_reason: Literal["operator_error", "refund", "tax_base_reduction"] = "refund"


class FiscalResult(msgspec.Struct, frozen=True, kw_only=True):
    """What fiscalising produced: the device's or service's number, and all it answered.

    ``print_lines`` and ``qr_data`` are for the hub to print on our receipt printer when the
    fiscaliser does not print itself (signing services); ``details`` keeps every answer field.
    """

    fiscal_number: str
    fiscalised_at: str
    device_serial: str = ""  # fiscal memory serial, TSE serial, cashbox id ...
    qr_data: str = ""
    print_lines: list[str] = []
    details: dict[str, object] = {}
