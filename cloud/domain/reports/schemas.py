"""Wire types of the reports: the filters every report takes and what each report answers.

Amounts are integer minor units (refunds negative); quantities and percentages are decimal
strings. Business dates are the store's local dates (``YYYY-MM-DD``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec


class Filters(msgspec.Struct, kw_only=True, frozen=True):
    """What a report covers: business dates ``date_from``..``date_to`` (inclusive, each optional),
    the stores (empty: every store of the tenant), one seller and one tender id (optional)."""

    date_from: date | None = None
    date_to: date | None = None
    store_ids: tuple[uuid.UUID, ...] = ()
    employee: str | None = None
    tender: str | None = None


class Totals(msgspec.Struct, kw_only=True):
    """Documents and money: ``count`` = sales + refunds; ``net`` = total - tax."""

    count: int = 0
    sales_count: int = 0
    refund_count: int = 0
    gross: int = 0
    discounts: int = 0
    net: int = 0
    tax: int = 0
    total: int = 0
    refund_total: int = 0


class Receipt(msgspec.Struct, kw_only=True):
    """One document in a list."""

    sale_uuid: str
    store_id: uuid.UUID
    doc_type: str
    number_text: str
    business_date: date
    created_at: datetime
    seller: str
    terminal_id: str
    gross: int
    discounts: int
    net: int
    tax: int
    total: int


class SalesReport(msgspec.Struct, kw_only=True):
    """Totals of every matching document and one page of them, newest first."""

    totals: Totals
    page: int
    page_size: int
    receipts: list[Receipt]


class LineRead(msgspec.Struct, kw_only=True):
    line_no: int
    product_id: int | None
    name: str
    quantity: str
    gross: int
    discount: int
    net: int
    total: int


class TaxRead(msgspec.Struct, kw_only=True):
    rate: str
    name: str
    inclusive: bool
    base: int
    amount: int


class PaymentRead(msgspec.Struct, kw_only=True):
    tender_id: str
    tender_type: str
    amount: int


class SaleDetail(msgspec.Struct, kw_only=True):
    """A document with its lines, taxes and payments."""

    receipt: Receipt
    hub_id: uuid.UUID
    currency: str
    training: bool
    lines: list[LineRead]
    taxes: list[TaxRead]
    payments: list[PaymentRead]


class TenderTotal(msgspec.Struct, kw_only=True):
    """A tender's payments: ``count`` documents paid (partly) with it, ``amount`` its share."""

    tender: str
    count: int
    amount: int


class TaxRate(msgspec.Struct, kw_only=True):
    """Base and tax at one rate (and whether it was included in prices)."""

    rate: str
    name: str
    inclusive: bool
    base: int
    tax: int
    count: int


class DayClose(msgspec.Struct, kw_only=True):
    """The end of day of one store on one business date."""

    store_id: uuid.UUID
    store_name: str
    business_date: date
    totals: Totals
    tenders: list[TenderTotal]
    taxes: list[TaxRate]


class EndOfDayReport(msgspec.Struct, kw_only=True):
    days: list[DayClose]


class TaxReport(msgspec.Struct, kw_only=True):
    rates: list[TaxRate]
    base: int
    tax: int


class ShiftRead(msgspec.Struct, kw_only=True):
    """A shift: ``in``/``out`` are cash movements, ``difference`` = counted - expected cash."""

    store_id: uuid.UUID
    hub_id: uuid.UUID
    shift_id: int
    terminal_id: str
    employee: str
    business_date: date
    opened_at: datetime | None
    closed_at: datetime | None
    duration_s: int | None
    auto_closed: bool
    opening_cash: int
    cash_sales: int
    card_sales: int
    cash_in: int
    cash_out: int
    expected_cash: int
    counted_cash: int | None
    difference: int | None


class ShiftReport(msgspec.Struct, kw_only=True):
    shifts: list[ShiftRead]


class ProductRow(msgspec.Struct, kw_only=True):
    """A product's sales; ``revenue`` is what customers paid for it (the lines' totals after
    discounts, tax included when prices include it); ``net_revenue`` is that without tax, line by
    line, from the product's tax rate or group in the config. ``tax_known`` is false when the
    config does not tell the product's tax: ``net_revenue`` is then ``revenue`` as is. Cost,
    profit (``net_revenue - cost``) and margin (profit over ``net_revenue``) are known when the
    products config gives a ``cost_price`` (per unit, net of tax)."""

    product_id: int | None
    name: str
    category_id: str | None
    quantity: str
    revenue: int
    net_revenue: int
    tax_known: bool
    cost: int | None
    profit: int | None
    margin_percent: str | None


class Ranking(msgspec.Struct, kw_only=True):
    top: list[ProductRow]
    bottom: list[ProductRow]


class ProductReport(msgspec.Struct, kw_only=True):
    products: int
    by_quantity: Ranking
    by_revenue: Ranking


class EmployeeRow(msgspec.Struct, kw_only=True):
    """A seller's documents: ``average_ticket`` = total / transactions, rounded half-even."""

    seller: str
    transactions: int
    sales_count: int
    refund_count: int
    total: int
    average_ticket: int


class EmployeeReport(msgspec.Struct, kw_only=True):
    employees: list[EmployeeRow]


class StoreTotals(msgspec.Struct, kw_only=True):
    store_id: uuid.UUID
    store_name: str
    totals: Totals


class ConsolidatedReport(msgspec.Struct, kw_only=True):
    stores: list[StoreTotals]
    grand_total: Totals


class PeriodFigures(msgspec.Struct, kw_only=True):
    """Sales of the campaign's products over a period, and per day (half-even to the cent)."""

    start_date: date
    end_date: date
    weight: str
    days: int
    quantity: str
    revenue: int
    revenue_per_day: int
    quantity_per_day: str


class CampaignReport(msgspec.Struct, kw_only=True):
    """A campaign against its weighted reference periods: ``lift_percent`` compares the
    campaign's revenue per day with the weighted average per day of the references."""

    campaign: str
    name: str
    product_ids: list[int]
    campaign_period: PeriodFigures
    reference_periods: list[PeriodFigures]
    reference_revenue_per_day: int | None
    revenue_lift_percent: str | None
    quantity_lift_percent: str | None
