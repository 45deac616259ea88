"""What the sales API takes and gives: carts, lines, checkout, sales, refunds (msgspec Structs).

Inputs forbid unknown fields; amounts are integer minor units (a float or a string is refused
at decoding), quantities and percentages are decimal strings (principle 5).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hub.domain.fiscal.documents import FiscalView
from hub.domain.money import Amount, PercentText, QuantityText
from hub.domain.sales.tenders import PaymentRequest

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
TerminalId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
Note = Annotated[str, msgspec.Meta(max_length=200)]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class DiscountIn(_In, kw_only=True):
    """A manual discount: ``percent`` ("10") or ``amount`` (minor units), not both."""

    kind: Literal["percent", "amount"]
    percent: PercentText | None = None
    amount: Amount | None = None


class CartCreate(_In, kw_only=True):
    terminal_id: TerminalId
    training: bool = False


class LineAdd(_In, kw_only=True):
    """Add by ``product_id`` (and ``variant_id``) or by a scanned ``barcode``."""

    product_id: int | None = None
    variant_id: int | None = None
    barcode: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    quantity: QuantityText = "1"
    note: Note = ""
    # Sell by weight: the quantity is the stable weight on the scale of the cart's terminal.
    weigh: bool = False


class LineUpdate(_In, kw_only=True):
    """Change what is given; ``unit_price`` is a price override (permission-checked, audited)."""

    quantity: QuantityText | None = None
    unit_price: Amount | None = None
    note: Note | None = None
    gratis: bool | None = None
    discount: DiscountIn | None = None
    clear_discount: bool = False


class ClearCart(_In, kw_only=True):
    confirm: bool = False


class HoldCart(_In, kw_only=True):
    note: Note = ""


class VoidCart(_In, kw_only=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AttachCustomer(_In, kw_only=True):
    customer_id: int | None


class Buyer(_In, kw_only=True):
    """B2B invoice buyer (filled from the customer's company details when not given)."""

    company_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    tax_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Checkout(_In, kw_only=True):
    """Pay and complete the cart. The same ``idempotency_key`` always yields the same sale."""

    idempotency_key: Key
    payments: Annotated[list[PaymentRequest], msgspec.Meta(min_length=1, max_length=10)]
    b2b: bool = False
    buyer: Buyer | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    print_receipt: bool | None = None  # None: the store's auto-print setting


class RefundLineIn(_In, kw_only=True):
    sale_line_id: int
    quantity: QuantityText


class RefundWithReceipt(_In, kw_only=True):
    idempotency_key: Key
    terminal_id: TerminalId
    lines: Annotated[list[RefundLineIn], msgspec.Meta(min_length=1, max_length=500)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    tender_id: str = "cash"


class FreeRefundLine(_In, kw_only=True):
    product_id: int
    variant_id: int | None = None
    quantity: QuantityText
    unit_price: Amount


class RefundWithoutReceipt(_In, kw_only=True):
    idempotency_key: Key
    terminal_id: TerminalId
    lines: Annotated[list[FreeRefundLine], msgspec.Meta(min_length=1, max_length=100)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    tender_id: str = "cash"


# --- views -----------------------------------------------------------------------------------


class TaxView(msgspec.Struct, frozen=True):
    rate_id: int
    name: str
    rate: str
    inclusive: bool
    base: int
    amount: int


class CartLineView(msgspec.Struct, frozen=True):
    id: int
    product_id: int
    variant_id: int | None
    name: str
    quantity: str
    unit_price: int
    price_overridden: bool
    gratis: bool
    discount: DiscountIn | None
    note: str
    gross: int
    discount_total: int
    net: int
    total: int


class CartView(msgspec.Struct, frozen=True):
    id: str
    terminal_id: str
    state: str
    training: bool
    customer_id: int | None
    discount: DiscountIn | None
    hold_note: str | None
    lines: list[CartLineView]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    taxes: list[TaxView]
    currency: str
    sale_id: int | None
    created_at: str
    updated_at: str


class SaleLineView(msgspec.Struct, frozen=True):
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


class PaymentView(msgspec.Struct, frozen=True):
    tender_id: str
    tender_type: str
    amount: int
    tendered: int
    change: int
    rounding: int
    reference: str | None
    comment: str | None


class SaleView(msgspec.Struct, frozen=True):
    id: int
    uuid: str
    doc_type: str
    number: int
    number_text: str
    terminal_id: str
    training: bool
    customer_id: int | None
    buyer: Buyer | None
    seller: str
    refund_of: int | None
    reason: str | None
    approved_by: str | None
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
    lines: list[SaleLineView]
    taxes: list[TaxView]
    payments: list[PaymentView]
    print_job_id: int | None = None
    drawer_job_id: int | None = None
    email_job_id: int | None = None
    # Pending, fiscalised (with the fiscal number) or failed, when the store fiscalises.
    fiscal: FiscalView | None = None
