"""The reports, read from the projection tables and scoped to the caller's tenant.

Summaries (sales totals, end of day, employees, stores) read the ``report_daily`` rollup, a few
thousand rows for a month of a million sales; lists and drill-downs read the documents by the
(tenant, business date, time) index. Training documents are never counted. A store filter that
names another tenant's store (or none at all) is 404, the same answer as for a missing store.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Store
from cloud.db.models_reports import (
    ALL_TENDERS,
    ReportDaily,
    ReportSale,
    ReportSaleLine,
    ReportSalePayment,
    ReportSaleTax,
    ReportShift,
)
from cloud.domain.reports.schemas import (
    ConsolidatedReport,
    DayClose,
    EmployeeReport,
    EmployeeRow,
    EndOfDayReport,
    Filters,
    LineRead,
    PaymentRead,
    Receipt,
    SaleDetail,
    SalesReport,
    ShiftRead,
    ShiftReport,
    StoreTotals,
    TaxRate,
    TaxRead,
    TaxReport,
    TenderTotal,
    Totals,
)
from cloud.errors import NotFound

# Newest first; the id breaks ties so that keyset pages never skip or repeat a document.
SALE_ORDER = (ReportSale.business_date.desc(), ReportSale.created_at.desc(), ReportSale.id.desc())
SUMS = ("sales_count", "refund_count", "gross", "discounts", "net", "tax", "total", "refund_total")


def divide(numerator: int | Decimal, denominator: int | Decimal) -> int:
    """``numerator / denominator`` rounded half-even to a whole minor unit (0 when nothing)."""
    if not denominator:
        return 0
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _sums() -> list[Any]:
    return [func.coalesce(func.sum(getattr(ReportDaily, name)), 0).label(name) for name in SUMS]


def _totals(row: Any) -> Totals:
    values = {name: int(getattr(row, name) or 0) for name in SUMS}
    return Totals(count=values["sales_count"] + values["refund_count"], **values)


def _receipt(sale: ReportSale) -> Receipt:
    return Receipt(
        sale_uuid=sale.sale_uuid, store_id=sale.store_id, doc_type=sale.doc_type, number_text=sale.number_text,
        business_date=sale.business_date, created_at=sale.created_at, seller=sale.seller,
        terminal_id=sale.terminal_id, gross=sale.gross, discounts=sale.discounts, net=sale.net, tax=sale.tax,
        total=sale.total,
    )  # fmt: skip


def _older_than(sale: ReportSale) -> ColumnElement[bool]:
    """Documents after ``sale`` in :data:`SALE_ORDER` (a keyset condition, spelled out so that
    SQLite and PostgreSQL read it alike)."""
    return or_(
        ReportSale.business_date < sale.business_date,
        and_(
            ReportSale.business_date == sale.business_date,
            or_(
                ReportSale.created_at < sale.created_at,
                and_(ReportSale.created_at == sale.created_at, ReportSale.id < sale.id),
            ),
        ),
    )


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else int((end - start).total_seconds())


class ReportService:
    """Every report of one tenant."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def stores(self, filters: Filters) -> dict[uuid.UUID, str]:
        """The stores the report covers, by id with their names; 404 for one not the tenant's."""
        query = select(Store.id, Store.name).where(Store.tenant_id == self.tenant_id)
        if filters.store_ids:
            query = query.where(Store.id.in_(filters.store_ids))
        found = {row.id: row.name for row in await self.session.execute(query.order_by(Store.name, Store.id))}
        if any(store not in found for store in filters.store_ids):
            raise NotFound("store")
        return found

    # --- conditions -----------------------------------------------------------------------

    def daily_where(self, filters: Filters, *, tender: bool = True) -> list[ColumnElement[bool]]:
        """The rollup rows of the filters (``tender=False``: every tender's own rows)."""
        where = [ReportDaily.tenant_id == self.tenant_id]
        if filters.date_from is not None:
            where.append(ReportDaily.business_date >= filters.date_from)
        if filters.date_to is not None:
            where.append(ReportDaily.business_date <= filters.date_to)
        if filters.store_ids:
            where.append(ReportDaily.store_id.in_(filters.store_ids))
        if filters.employee is not None:
            where.append(ReportDaily.seller == filters.employee)
        if tender:
            where.append(ReportDaily.tender == (filters.tender or ALL_TENDERS))
        elif filters.tender is not None:
            where.append(ReportDaily.tender == filters.tender)
        else:
            where.append(ReportDaily.tender != ALL_TENDERS)
        return where

    def sale_where(self, filters: Filters) -> list[ColumnElement[bool]]:
        """The (non-training) documents of the filters."""
        where = [ReportSale.tenant_id == self.tenant_id, ReportSale.training.is_(False)]
        if filters.date_from is not None:
            where.append(ReportSale.business_date >= filters.date_from)
        if filters.date_to is not None:
            where.append(ReportSale.business_date <= filters.date_to)
        if filters.store_ids:
            where.append(ReportSale.store_id.in_(filters.store_ids))
        if filters.employee is not None:
            where.append(ReportSale.seller == filters.employee)
        if filters.tender is not None:
            where.append(
                exists().where(
                    ReportSalePayment.sale_id == ReportSale.id, ReportSalePayment.tender_id == filters.tender
                )
            )
        return where

    # --- reports --------------------------------------------------------------------------

    async def totals(self, filters: Filters) -> Totals:
        """Counts and money of every matching document."""
        row = (await self.session.execute(select(*_sums()).where(*self.daily_where(filters)))).one()
        return _totals(row)

    async def sales(self, filters: Filters, page: int = 1, page_size: int = 50) -> SalesReport:
        """Totals and one page of the matching documents, newest first."""
        await self.stores(filters)
        query = (
            select(ReportSale)
            .where(*self.sale_where(filters))
            .order_by(*SALE_ORDER)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        receipts = [_receipt(sale) for sale in await self.session.scalars(query)]
        return SalesReport(
            totals=await self.totals(filters), page=page, page_size=page_size, receipts=receipts
        )

    async def receipt_count(self, filters: Filters) -> int:
        """How many documents match (the same ones :meth:`receipt_chunks` yields)."""
        query = select(func.count()).select_from(ReportSale).where(*self.sale_where(filters))
        return int(await self.session.scalar(query) or 0)

    async def receipt_chunks(self, filters: Filters, chunk_size: int = 1000) -> AsyncIterator[list[Receipt]]:
        """Every matching document, newest first, ``chunk_size`` at a time.

        Keyset pagination (never OFFSET): each chunk starts after the last document of the one
        before, so a month of 100,000+ documents is read in constant memory and time per chunk.
        """
        last: ReportSale | None = None
        while True:
            query = select(ReportSale).where(*self.sale_where(filters))
            if last is not None:
                query = query.where(_older_than(last))
            sales = list(await self.session.scalars(query.order_by(*SALE_ORDER).limit(chunk_size)))
            if not sales:
                return
            receipts = [_receipt(sale) for sale in sales]
            last = sales[-1]
            self.session.expunge_all()  # nothing of the chunk stays in the identity map
            yield receipts
            if len(sales) < chunk_size:
                return

    async def sale(self, sale_uuid: str) -> SaleDetail:
        """One document of the tenant with its lines, taxes and payments; 404 otherwise."""
        sale = await self.session.scalar(
            select(ReportSale).where(
                ReportSale.tenant_id == self.tenant_id, ReportSale.sale_uuid == sale_uuid
            )
        )
        if sale is None:
            raise NotFound("sale")
        lines = await self.session.scalars(
            select(ReportSaleLine).where(ReportSaleLine.sale_id == sale.id).order_by(ReportSaleLine.line_no)
        )
        taxes = await self.session.scalars(
            select(ReportSaleTax).where(ReportSaleTax.sale_id == sale.id).order_by(ReportSaleTax.rate)
        )
        payments = await self.session.scalars(
            select(ReportSalePayment)
            .where(ReportSalePayment.sale_id == sale.id)
            .order_by(ReportSalePayment.created_at)
        )
        return SaleDetail(
            receipt=_receipt(sale), hub_id=sale.hub_id, currency=sale.currency, training=sale.training,
            lines=[LineRead(line_no=x.line_no, product_id=x.product_id, name=x.name, quantity=f"{x.quantity:f}",
                            gross=x.gross, discount=x.discount, net=x.net, total=x.total) for x in lines],
            taxes=[TaxRead(rate=t.rate, name=t.name, inclusive=t.inclusive, base=t.base, amount=t.amount)
                   for t in taxes],
            payments=[PaymentRead(tender_id=p.tender_id, tender_type=p.tender_type, amount=p.amount)
                      for p in payments],
        )  # fmt: skip

    def _tax_query(self, filters: Filters, *keys: Any) -> Select[Any]:
        return (
            select(
                *keys, ReportSaleTax.rate, ReportSaleTax.inclusive, func.max(ReportSaleTax.name).label("name"),
                func.coalesce(func.sum(ReportSaleTax.base), 0).label("base"),
                func.coalesce(func.sum(ReportSaleTax.amount), 0).label("tax"),
                func.count(func.distinct(ReportSaleTax.sale_id)).label("count"),
            )
            .join(ReportSale, ReportSale.id == ReportSaleTax.sale_id)
            .where(*self.sale_where(filters))
            .group_by(*keys, ReportSaleTax.rate, ReportSaleTax.inclusive)
        )  # fmt: skip

    @staticmethod
    def _rate(row: Any) -> TaxRate:
        return TaxRate(rate=row.rate, name=row.name, inclusive=bool(row.inclusive), base=int(row.base),
                       tax=int(row.tax), count=int(row.count))  # fmt: skip

    async def taxes(self, filters: Filters) -> TaxReport:
        """Base and tax per rate (and inclusive flag) of the matching documents."""
        await self.stores(filters)
        rows = await self.session.execute(self._tax_query(filters))
        rates = sorted((self._rate(r) for r in rows), key=lambda r: (Decimal(_number(r.rate)), r.inclusive))
        return TaxReport(rates=rates, base=sum(r.base for r in rates), tax=sum(r.tax for r in rates))

    async def end_of_day(self, filters: Filters) -> EndOfDayReport:
        """Per store and business date: counts, totals, each tender and each tax rate."""
        names = await self.stores(filters)
        keys = (ReportDaily.store_id, ReportDaily.business_date)
        days: dict[tuple[uuid.UUID, date], DayClose] = {}
        for row in await self.session.execute(
            select(*keys, *_sums()).where(*self.daily_where(filters)).group_by(*keys)
        ):
            days[(row.store_id, row.business_date)] = DayClose(
                store_id=row.store_id, store_name=names.get(row.store_id, ""), business_date=row.business_date,
                totals=_totals(row), tenders=[], taxes=[],
            )  # fmt: skip
        tender_rows = await self.session.execute(
            select(*keys, ReportDaily.tender, *_sums(), func.sum(ReportDaily.tender_amount).label("amount"))
            .where(*self.daily_where(filters, tender=False))
            .group_by(*keys, ReportDaily.tender)
            .order_by(ReportDaily.tender)
        )
        for row in tender_rows:
            day = days.get((row.store_id, row.business_date))
            if day is not None:
                count = int(row.sales_count) + int(row.refund_count)
                day.tenders.append(TenderTotal(tender=row.tender, count=count, amount=int(row.amount)))
        for row in await self.session.execute(
            self._tax_query(filters, ReportSale.store_id, ReportSale.business_date)
        ):
            day = days.get((row.store_id, row.business_date))
            if day is not None:
                day.taxes.append(self._rate(row))
        for day in days.values():
            day.taxes.sort(key=lambda r: (Decimal(_number(r.rate)), r.inclusive))
        ordered = sorted(days.values(), key=lambda d: (d.business_date, d.store_name, str(d.store_id)))
        return EndOfDayReport(days=ordered)

    async def shifts(self, filters: Filters) -> ShiftReport:
        """Shifts that opened on the business dates (the tender filter does not apply)."""
        await self.stores(filters)
        query = select(ReportShift).where(ReportShift.tenant_id == self.tenant_id)
        if filters.date_from is not None:
            query = query.where(ReportShift.business_date >= filters.date_from)
        if filters.date_to is not None:
            query = query.where(ReportShift.business_date <= filters.date_to)
        if filters.store_ids:
            query = query.where(ReportShift.store_id.in_(filters.store_ids))
        if filters.employee is not None:
            query = query.where(ReportShift.employee == filters.employee)
        query = query.order_by(ReportShift.business_date, ReportShift.opened_at, ReportShift.shift_id)
        shifts = [
            ShiftRead(
                store_id=s.store_id,
                hub_id=s.hub_id,
                shift_id=s.shift_id,
                terminal_id=s.terminal_id,
                employee=s.employee,
                business_date=s.business_date,
                opened_at=s.opened_at,
                closed_at=s.closed_at,
                duration_s=_seconds(s.opened_at, s.closed_at),
                auto_closed=s.auto_closed,
                opening_cash=s.opening_cash,
                cash_sales=s.cash_sales,
                card_sales=s.card_sales,
                cash_in=s.cash_in,
                cash_out=s.cash_out,
                expected_cash=s.expected_cash,
                counted_cash=s.counted_cash,
                difference=s.difference,
            )
            for s in await self.session.scalars(query)
        ]
        return ShiftReport(shifts=shifts)

    async def employees(self, filters: Filters) -> EmployeeReport:
        """Per seller: transactions, total and average ticket, best seller first."""
        await self.stores(filters)
        rows = await self.session.execute(
            select(ReportDaily.seller, *_sums())
            .where(*self.daily_where(filters))
            .group_by(ReportDaily.seller)
        )
        employees = []
        for row in rows:
            totals = _totals(row)
            employees.append(EmployeeRow(
                seller=row.seller, transactions=totals.count, sales_count=totals.sales_count,
                refund_count=totals.refund_count, total=totals.total,
                average_ticket=divide(totals.total, totals.count),
            ))  # fmt: skip
        employees.sort(key=lambda e: (-e.total, e.seller))
        return EmployeeReport(employees=employees)

    async def consolidated(self, filters: Filters) -> ConsolidatedReport:
        """Per store (every store covered, with zeros when it sold nothing) and the grand total."""
        names = await self.stores(filters)
        rows = await self.session.execute(
            select(ReportDaily.store_id, *_sums())
            .where(*self.daily_where(filters))
            .group_by(ReportDaily.store_id)
        )
        by_store = {row.store_id: _totals(row) for row in rows}
        stores = [StoreTotals(store_id=sid, store_name=name, totals=by_store.get(sid, Totals()))
                  for sid, name in names.items()]  # fmt: skip
        grand = Totals()
        for store in stores:
            for name in ("count", *SUMS):
                setattr(grand, name, getattr(grand, name) + getattr(store.totals, name))
        return ConsolidatedReport(stores=stores, grand_total=grand)


def _number(text: str) -> str:
    """A sortable number for a rate's text (an odd one sorts last)."""
    try:
        Decimal(text)
    except ArithmeticError:
        return "Infinity"
    return text
