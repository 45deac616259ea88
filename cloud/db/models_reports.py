"""Cloud tables: report projections of ingested facts.

Written only by :mod:`cloud.domain.reports.projection`, in the transaction that stores the
facts (exactly once per fact), and read by the report services. Amounts are integer minor
units; quantities are ``Numeric(15, 3)``; tax rates are the decimal text the hub sent.

* ``report_sales``: one row per sale, invoice or refund document (refunds carry negative
  amounts). ``created_at`` is the document's own time; ``business_date`` is that time's date in
  the store's time zone. Training documents are kept with ``training`` set and never reported.
* ``report_sale_lines`` / ``report_sale_taxes`` / ``report_sale_payments``: the document's
  parts, for drill-down, tax and product reports.
* ``report_shifts``: one row per hub shift, from ``shift.opened``, ``cash.moved`` and
  ``shift.closed`` (whose figures are authoritative once the shift is closed).
* ``report_daily``: the rollup the summary reports read. One row per (tenant, store, business
  date, seller, tender); ``tender = ''`` rows hold every non-training document, a tender's rows
  hold the documents that used that tender (each once) plus the tender's own amount. A month of
  a million sales is a few thousand rows here.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UTCDateTime

ALL_TENDERS = ""


class ReportSale(Base):
    """A sale, invoice or refund document as the reports see it."""

    __tablename__ = "report_sales"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sale_uuid", name="uq_report_sales_tenant_sale"),
        Index("ix_report_sales_tenant_date_created", "tenant_id", "business_date", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    sale_uuid: Mapped[str] = mapped_column(String(64), nullable=False)
    doc_type: Mapped[str] = mapped_column(String(16), nullable=False)
    number_text: Mapped[str] = mapped_column(String(64), nullable=False)
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    seller: Mapped[str] = mapped_column(String(120), nullable=False)
    terminal_id: Mapped[str] = mapped_column(String(64), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    gross: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discounts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total: Mapped[int] = mapped_column(BigInteger, nullable=False)
    training: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ReportSaleLine(Base):
    """One line of a document."""

    __tablename__ = "report_sale_lines"

    sale_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("report_sales.id", ondelete="CASCADE"), nullable=False, index=True
    )
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(15, 3), nullable=False)
    gross: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportSaleTax(Base):
    """The tax a document carries at one rate."""

    __tablename__ = "report_sale_taxes"

    sale_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("report_sales.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rate: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    inclusive: Mapped[bool] = mapped_column(Boolean, nullable=False)
    base: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportSalePayment(Base):
    """A payment of a document: ``amount`` is what counted towards it (change already out)."""

    __tablename__ = "report_sale_payments"
    __table_args__ = (Index("ix_report_sale_payments_sale_tender", "sale_id", "tender_id"),)

    sale_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("report_sales.id", ondelete="CASCADE"), nullable=False
    )
    tender_id: Mapped[str] = mapped_column(String(64), nullable=False)
    tender_type: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportShift(Base):
    """A shift of a hub's terminal, open until ``closed_at`` is set."""

    __tablename__ = "report_shifts"
    __table_args__ = (
        UniqueConstraint("hub_id", "shift_id", name="uq_report_shifts_hub_shift"),
        Index("ix_report_shifts_tenant_date", "tenant_id", "business_date"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    shift_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    terminal_id: Mapped[str] = mapped_column(String(64), nullable=False)
    employee: Mapped[str] = mapped_column(String(120), nullable=False)
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    auto_closed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    opening_cash: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cash_sales: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    card_sales: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cash_in: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cash_out: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    expected_cash: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    counted_cash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    difference: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ReportDaily(Base):
    """Per store, business date, seller and tender: document counts and totals (see module)."""

    __tablename__ = "report_daily"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "business_date", "store_id", "seller", "tender", name="uq_report_daily_key"
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    seller: Mapped[str] = mapped_column(String(120), nullable=False)
    tender: Mapped[str] = mapped_column(String(64), nullable=False)
    sales_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refund_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    discounts: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    net: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refund_total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tender_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
