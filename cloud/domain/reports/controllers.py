"""``/api/v1/reports/...``: the tenant's reports as JSON, CSV and (the printable ones) PDF.

Every report takes ``from`` and ``to`` (business dates, inclusive), ``store_id`` (repeatable;
omitted: every store of the tenant), ``employee`` (seller name) and ``tender`` (tender id), and
answers in the format of ``?format=json|csv|pdf`` or else of the Accept header. Owners, admins
and managers may read them; another tenant's store or sale is 404. Bad filters are 400 with a
code from :mod:`cloud.domain.reports.filters`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.domain.auth.scopes import requires_scope
from cloud.domain.auth.services import Caller
from cloud.domain.reports import csv_export as tables
from cloud.domain.reports.csv_export import SALES_HEADER, Table, csv_rows, receipt_row, to_csv
from cloud.domain.reports.filters import MEDIA_TYPES, parse_filters, parse_page, pick_format
from cloud.domain.reports.pdf_export import render_pdf
from cloud.domain.reports.products import campaign_performance, product_performance
from cloud.domain.reports.schemas import Filters, SaleDetail
from cloud.domain.reports.services import ReportService

# The sales report's PDF holds at most this many documents (and says so); its CSV holds all of
# them, read and written this many at a time.
PDF_MAX_RECEIPTS = 2000
CSV_CHUNK = 1000
TABULAR = ("json", "csv")
PRINTABLE = ("json", "csv", "pdf")

From = Annotated[str | None, Parameter(query="from", description="first business date, YYYY-MM-DD")]
To = Annotated[str | None, Parameter(query="to", description="last business date, YYYY-MM-DD")]
StoreIds = Annotated[list[str] | None, Parameter(query="store_id", description="a store (repeatable)")]
Employee = Annotated[str | None, Parameter(query="employee", description="the seller's name")]
Tender = Annotated[str | None, Parameter(query="tender", description="a tender id, e.g. cash")]
Format = Annotated[str | None, Parameter(query="format", description="json, csv or pdf")]


def _service(caller: Caller, session: AsyncSession) -> ReportService:
    # Who may read is the routes' guard (``reports:read``: owners, admins, managers, and API
    # keys given that scope); the service only ever sees the caller's tenant.
    return ReportService(session, caller.tenant_id)


async def _answer(
    request: Request[Any, Any, Any],
    name: str,
    report: msgspec.Struct,
    table: Table,
    filters: Filters,
    fmt: str,
    sheet: Table | None = None,
) -> Response[Any]:
    if fmt == "json":
        return Response(msgspec.json.encode(report), media_type=MEDIA_TYPES["json"])
    if fmt == "csv":
        body = to_csv(table)
    else:
        body = await asyncio.to_thread(render_pdf, sheet or table, filters)
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


async def _sales_csv(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, filters: Filters
) -> AsyncIterator[bytes]:
    """Every matching document as CSV, a chunk at a time (header first).

    The stream outlives the request's own session, so it reads with a session of its own.
    """
    yield csv_rows([SALES_HEADER])
    async with factory() as session:
        async for receipts in ReportService(session, tenant_id).receipt_chunks(filters, CSV_CHUNK):
            yield csv_rows(receipt_row(r) for r in receipts)


async def report_filters(
    date_from: From = None, date_to: To = None, store_ids: StoreIds = None, employee: Employee = None,
    tender: Tender = None,
) -> Filters:  # fmt: skip
    """The filters every report takes, checked once (400 with a code when they make no sense)."""
    return parse_filters(date_from, date_to, store_ids, employee, tender)


class ReportController(Controller):
    """The reports of the caller's tenant."""

    path = "/api/v1/reports"
    tags = ["reports"]  # noqa: RUF012
    dependencies = {"filters": Provide(report_filters)}  # noqa: RUF012

    @get("/sales", guards=[requires_scope("reports:read")])
    async def sales(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None, page: int = 1, page_size: int = 50,
    ) -> Response[Any]:  # fmt: skip
        """Totals (count, gross, discounts, net, tax, total) and a page of documents, newest first.

        JSON is paginated; CSV holds every matching document (streamed, ``page`` is ignored); PDF
        the first :data:`PDF_MAX_RECEIPTS` of them and, when there are more, says so.
        """
        chosen = pick_format(fmt, request.headers.get("accept"), PRINTABLE)
        number, size = parse_page(page, page_size)
        service = _service(caller, db_session)
        if chosen == "csv":
            await service.stores(filters)  # 404 for another tenant's store before streaming
            return Stream(
                _sales_csv(request.app.state.session_factory, caller.tenant_id, filters),
                media_type=MEDIA_TYPES["csv"],
                headers={"Content-Disposition": 'attachment; filename="sales.csv"'},
            )
        if chosen == "pdf":
            report = await service.sales(filters, 1, PDF_MAX_RECEIPTS)
            matching = await service.receipt_count(filters)
            table = tables.sales_table(report, matching=matching)
            return await _answer(request, "sales", report, table, filters, chosen)
        report = await service.sales(filters, number, size)
        return await _answer(request, "sales", report, tables.sales_table(report), filters, chosen)

    @get("/sales/{sale_uuid:str}", guards=[requires_scope("reports:read")])
    async def sale(self, sale_uuid: str, caller: Caller, db_session: AsyncSession) -> SaleDetail:
        """One document with its lines, taxes and payments (404 when not the tenant's)."""
        return await _service(caller, db_session).sale(sale_uuid)

    @get("/end-of-day", guards=[requires_scope("reports:read")])
    async def end_of_day(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None,
    ) -> Response[Any]:  # fmt: skip
        """Per store and business date: counts, totals, refunds, each tender and each tax rate."""
        chosen = pick_format(fmt, request.headers.get("accept"), PRINTABLE)
        report = await _service(caller, db_session).end_of_day(filters)
        table = tables.end_of_day_table(report)
        return await _answer(
            request, "end-of-day", report, table, filters, chosen, tables.end_of_day_sheet(report)
        )

    @get("/taxes", guards=[requires_scope("reports:read")])
    async def taxes(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None,
    ) -> Response[Any]:  # fmt: skip
        """Base and tax per rate and inclusive flag."""
        chosen = pick_format(fmt, request.headers.get("accept"), PRINTABLE)
        report = await _service(caller, db_session).taxes(filters)
        return await _answer(request, "taxes", report, tables.tax_table(report), filters, chosen)

    @get("/shifts", guards=[requires_scope("reports:read")])
    async def shifts(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None,
    ) -> Response[Any]:  # fmt: skip
        """Shifts with opening, closing, cash, card, cash in/out, difference and duration."""
        chosen = pick_format(fmt, request.headers.get("accept"), PRINTABLE)
        report = await _service(caller, db_session).shifts(filters)
        return await _answer(request, "shifts", report, tables.shift_table(report), filters, chosen)

    @get("/products", guards=[requires_scope("reports:read")])
    async def products(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None, limit: Annotated[int, Parameter(ge=1, le=100)] = 10,
    ) -> Response[Any]:  # fmt: skip
        """Top and bottom ``limit`` products by quantity and revenue, with margin when cost is known."""
        chosen = pick_format(fmt, request.headers.get("accept"), TABULAR)
        report = await product_performance(_service(caller, db_session), filters, limit)
        return await _answer(request, "products", report, tables.product_table(report), filters, chosen)

    @get("/employees", guards=[requires_scope("reports:read")])
    async def employees(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None,
    ) -> Response[Any]:  # fmt: skip
        """Per seller: transactions, total and average ticket."""
        chosen = pick_format(fmt, request.headers.get("accept"), TABULAR)
        report = await _service(caller, db_session).employees(filters)
        return await _answer(request, "employees", report, tables.employee_table(report), filters, chosen)

    @get("/stores", guards=[requires_scope("reports:read")])
    async def stores(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, filters: Filters,
        fmt: Format = None,
    ) -> Response[Any]:  # fmt: skip
        """Consolidated: per store and the grand total."""
        chosen = pick_format(fmt, request.headers.get("accept"), TABULAR)
        report = await _service(caller, db_session).consolidated(filters)
        return await _answer(request, "stores", report, tables.consolidated_table(report), filters, chosen)

    @get("/campaigns/{campaign:str}", guards=[requires_scope("reports:read")])
    async def campaign(
        self, campaign: str, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession,
        filters: Filters, fmt: Format = None,
    ) -> Response[Any]:  # fmt: skip
        """A campaign's sales per day against its weighted reference periods (lift in percent).

        ``campaign`` is the campaign's config key; its own dates win over ``from``/``to``
        (``to`` closes a campaign without an end date).
        """
        chosen = pick_format(fmt, request.headers.get("accept"), TABULAR)
        report = await campaign_performance(_service(caller, db_session), filters, campaign)
        return await _answer(request, "campaign", report, tables.campaign_table(report), filters, chosen)
