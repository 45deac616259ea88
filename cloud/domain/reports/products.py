"""Product performance and campaign performance, with what the authored config says of products.

Cost and category of a product come from the config items (table ``config_items``: section
``products``, key = product id, body JSON with ``cost_price`` in minor units per unit and
``category_id``), read with one plain SQL query so this package does not depend on the config
package's models. A database without that table (or with another shape of it) simply has no
costs: margins are then unknown, never wrong. A store's own item overrides the tenant's.

Margins are taken on revenue net of tax, like the cost price: a product's ``tax_rate_id`` (section
``tax_rates``: ``rate`` in percent as text, ``inclusive``) or ``tax_group_id`` (section
``tax_groups``: ``rate_ids``) gives the tax inside its line totals, removed line by line. A
product whose tax the config does not tell keeps the tax-inclusive total and is flagged.

Campaigns are config items in section ``campaigns`` (help-center seed "Campaigns"): a period
``start_date``..``end_date`` (open end: up to ``to`` or today), an optional ``location_id``,
and in ``data`` the reported products (``report_plus``), departments (``report_dpts``, i.e.
category ids) and weighted ``reference_periods``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Uuid, bindparam, func, inspect, select
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models_reports import ReportSale, ReportSaleLine
from cloud.domain.reports.schemas import (
    CampaignReport,
    Filters,
    PeriodFigures,
    ProductReport,
    ProductRow,
    Ranking,
)
from cloud.domain.reports.services import ReportService, divide
from cloud.errors import NotFound

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
MILLI = Decimal("0.001")
_ITEMS = sql(
    "SELECT store_id, key, body FROM config_items "
    "WHERE tenant_id = :tenant AND section = :section AND deleted = :deleted"
).bindparams(bindparam("tenant", type_=Uuid), bindparam("deleted", False, type_=Boolean))


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What the config says of a product."""

    cost_price: int | None
    category_id: str | None
    # The percent of tax included in the product's line totals (0 for exclusive rates); None when
    # the config does not tell (no rate or group, or one that is missing or unreadable).
    inclusive_percent: Decimal | None = None


def _body(value: Any) -> dict[str, Any]:
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


async def config_items(
    session: AsyncSession, tenant_id: uuid.UUID, section: str
) -> list[tuple[Any, str, dict[str, Any]]]:
    """``(store_id, key, body)`` of the tenant's live items in ``section``; empty without the table."""

    def has_table(sync_session: Any) -> bool:
        return bool(inspect(sync_session.connection()).has_table("config_items"))

    if not await session.run_sync(has_table):
        return []
    try:
        async with session.begin_nested():
            rows = (await session.execute(_ITEMS, {"tenant": tenant_id, "section": section})).all()
    except DBAPIError as exc:
        log.warning("config_items is not readable for reports: %s", exc)
        return []
    return [(row[0], str(row[1]), _body(row[2])) for row in rows]


def _chosen(
    items: list[tuple[Any, str, dict[str, Any]]], store_ids: tuple[uuid.UUID, ...]
) -> dict[str, dict[str, Any]]:
    """Body per key: the tenant's item, or the store's own when the report covers that one store."""
    chosen: dict[str, tuple[bool, dict[str, Any]]] = {}
    for store_id, key, body in items:
        own = (
            store_id is not None
            and len(store_ids) == 1
            and str(store_id).replace("-", "") == store_ids[0].hex
        )
        if store_id is not None and not own:
            continue
        if key not in chosen or own:
            chosen[key] = (own, body)
    return {key: body for key, (_, body) in chosen.items()}


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def _rate(body: dict[str, Any] | None) -> Decimal | None:
    """The percent a tax rate includes in prices (0 when exclusive); None when unreadable."""
    if body is None:
        return None
    try:
        rate = Decimal(str(body.get("rate")))
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate < 0:
        return None
    return rate if body.get("inclusive") is True else Decimal(0)


def _tax_percent(
    body: dict[str, Any], rates: dict[str, dict[str, Any]], groups: dict[str, dict[str, Any]]
) -> Decimal | None:
    """The inclusive tax percent of a product's lines, or None when the config does not tell."""
    rate_id, group_id = _id(body.get("tax_rate_id")), _id(body.get("tax_group_id"))
    if rate_id is not None:
        return _rate(rates.get(rate_id))
    if group_id is None or group_id not in groups:
        return None
    rate_ids = groups[group_id].get("rate_ids")
    if not isinstance(rate_ids, list):
        return None
    # A group's rates are summed as simple rates: a compound rate (tax on tax) is treated as if it
    # were simple, a small error that only such groups carry.
    total = Decimal(0)
    for member in rate_ids:
        rate = _rate(rates.get(str(member)))
        if rate is None:
            return None
        total += rate
    return total


async def product_info(
    session: AsyncSession, tenant_id: uuid.UUID, store_ids: tuple[uuid.UUID, ...] = ()
) -> dict[int, ProductInfo]:
    """Cost, category and tax per product id; a store's item wins when the report covers one store."""
    chosen = _chosen(await config_items(session, tenant_id, "products"), store_ids)
    rates = _chosen(await config_items(session, tenant_id, "tax_rates"), store_ids) if chosen else {}
    groups = _chosen(await config_items(session, tenant_id, "tax_groups"), store_ids) if chosen else {}
    products: dict[int, ProductInfo] = {}
    for key, body in chosen.items():
        try:
            product_id = int(key)
        except ValueError:
            continue
        cost = body.get("cost_price")
        category = body.get("category_id")
        products[product_id] = ProductInfo(
            cost_price=cost if isinstance(cost, int) and not isinstance(cost, bool) else None,
            category_id=None if category is None else str(category),
            inclusive_percent=_tax_percent(body, rates, groups),
        )
    return products


def net_of_tax(total: int, inclusive_percent: Decimal) -> int:
    """A line total without the ``inclusive_percent`` of tax inside it, half up to a minor unit."""
    if not inclusive_percent:
        return total
    net = Decimal(total) * 100 / (100 + inclusive_percent)
    return int(net.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _row(
    product_id: int | None,
    name: str,
    quantity: Decimal,
    revenue: int,
    line_totals: list[tuple[int, int]],
    info: ProductInfo | None,
) -> ProductRow:
    """A product's row; ``line_totals`` are (line total after discounts, number of such lines)."""
    percent = info.inclusive_percent if info is not None else None
    net_revenue = revenue
    if percent is not None:
        net_revenue = sum(net_of_tax(total, percent) * count for total, count in line_totals)
    cost = profit = None
    margin = None
    if info is not None and info.cost_price is not None:
        cost = int((info.cost_price * quantity).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        profit = net_revenue - cost
        if net_revenue:
            margin = str(
                (Decimal(profit) * 100 / Decimal(net_revenue)).quantize(CENT, rounding=ROUND_HALF_EVEN)
            )
    return ProductRow(
        product_id=product_id, name=name, category_id=info.category_id if info else None,
        quantity=f"{quantity.quantize(MILLI):f}", revenue=revenue, net_revenue=net_revenue,
        tax_known=percent is not None, cost=cost, profit=profit, margin_percent=margin,
    )  # fmt: skip


async def product_performance(service: ReportService, filters: Filters, limit: int = 10) -> ProductReport:
    """Top and bottom ``limit`` products by quantity and by revenue (net of discounts).

    Tax is removed from each line on its own (then summed), as the receipt computed it; lines are
    read grouped by product and amount, so the rows read stay few however many lines were sold.
    """
    await service.stores(filters)
    query = (
        select(
            ReportSaleLine.product_id,
            func.max(ReportSaleLine.name).label("name"),
            func.coalesce(func.sum(ReportSaleLine.quantity), 0).label("quantity"),
            func.coalesce(func.sum(ReportSaleLine.net), 0).label("revenue"),
        )
        .join(ReportSale, ReportSale.id == ReportSaleLine.sale_id)
        .where(*service.sale_where(filters))
        .group_by(ReportSaleLine.product_id)
    )
    amounts = (
        select(ReportSaleLine.product_id, ReportSaleLine.net, func.count().label("lines"))
        .join(ReportSale, ReportSale.id == ReportSaleLine.sale_id)
        .where(*service.sale_where(filters), ReportSaleLine.product_id.is_not(None))
        .group_by(ReportSaleLine.product_id, ReportSaleLine.net)
    )
    info = await product_info(service.session, service.tenant_id, filters.store_ids)
    line_totals: dict[int, list[tuple[int, int]]] = {}
    for a in await service.session.execute(amounts):
        line_totals.setdefault(int(a.product_id), []).append((int(a.net), int(a.lines)))
    rows = [
        _row(
            r.product_id,
            r.name,
            Decimal(r.quantity),
            int(r.revenue),
            line_totals.get(r.product_id, []) if r.product_id is not None else [],
            info.get(r.product_id) if r.product_id else None,
        )
        for r in await service.session.execute(query)
    ]

    def key(row: ProductRow) -> tuple[str, int]:
        return (row.name, row.product_id or 0)

    by_quantity = sorted(sorted(rows, key=key), key=lambda r: Decimal(r.quantity), reverse=True)
    by_revenue = sorted(sorted(rows, key=key), key=lambda r: r.revenue, reverse=True)
    return ProductReport(
        products=len(rows),
        by_quantity=Ranking(top=by_quantity[:limit], bottom=list(reversed(by_quantity))[:limit]),
        by_revenue=Ranking(top=by_revenue[:limit], bottom=list(reversed(by_revenue))[:limit]),
    )


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _ids(values: Any) -> set[str]:
    return {str(v) for v in values} if isinstance(values, list) else set()


async def _period(
    service: ReportService,
    filters: Filters,
    products: list[int] | None,
    start: date,
    end: date,
    weight: Decimal,
) -> PeriodFigures:
    scoped = Filters(date_from=start, date_to=end, store_ids=filters.store_ids, employee=filters.employee,
                     tender=filters.tender)  # fmt: skip
    query = (
        select(
            func.coalesce(func.sum(ReportSaleLine.quantity), 0).label("quantity"),
            func.coalesce(func.sum(ReportSaleLine.net), 0).label("revenue"),
        )
        .join(ReportSale, ReportSale.id == ReportSaleLine.sale_id)
        .where(*service.sale_where(scoped))
    )
    if products is not None:
        query = query.where(ReportSaleLine.product_id.in_(products))
    row = (await service.session.execute(query)).one()
    days = (end - start).days + 1
    quantity = Decimal(row.quantity).quantize(MILLI)
    return PeriodFigures(
        start_date=start, end_date=end, weight=str(weight), days=days, quantity=f"{quantity:f}",
        revenue=int(row.revenue), revenue_per_day=divide(int(row.revenue), days),
        quantity_per_day=f"{(quantity / days).quantize(MILLI, rounding=ROUND_HALF_EVEN):f}",
    )  # fmt: skip


def _lift(current: Decimal, reference: Decimal) -> str | None:
    if not reference:
        return None
    return str(((current - reference) * 100 / reference).quantize(CENT, rounding=ROUND_HALF_EVEN))


async def campaign_performance(service: ReportService, filters: Filters, campaign: str) -> CampaignReport:
    """The campaign's sales per day against the weighted average per day of its references."""
    await service.stores(filters)
    items = [
        body
        for _, key, body in await config_items(service.session, service.tenant_id, "campaigns")
        if key == campaign
    ]
    if not items:
        raise NotFound("campaign")
    body = items[0]
    nested = body.get("data")
    data: dict[str, Any] = nested if isinstance(nested, dict) else body
    start = _day(body.get("start_date"))
    if start is None:
        raise NotFound("campaign period")
    end = _day(body.get("end_date")) or filters.date_to or datetime.now(UTC).date()
    plus, departments = _ids(data.get("report_plus")), _ids(data.get("report_dpts"))
    products: list[int] | None = None
    if plus or departments:
        info = await product_info(service.session, service.tenant_id, filters.store_ids)
        chosen = {int(p) for p in plus if p.lstrip("-").isdigit()}
        chosen |= {
            pid for pid, p in info.items() if p.category_id is not None and p.category_id in departments
        }
        products = sorted(chosen)
    location = body.get("location_id")
    if location and not filters.store_ids:
        with contextlib.suppress(ValueError):
            filters = Filters(
                store_ids=(uuid.UUID(str(location)),), employee=filters.employee, tender=filters.tender
            )
    current = await _period(service, filters, products, start, max(start, end), Decimal(1))
    references: list[PeriodFigures] = []
    weighted = Decimal(0)
    weights = Decimal(0)
    for period in data.get("reference_periods") or []:
        if not isinstance(period, dict):
            continue
        ref_start, ref_end = _day(period.get("start_date")), _day(period.get("end_date"))
        try:
            weight = Decimal(str(period.get("weight", 1)))
        except InvalidOperation:
            continue
        if (
            ref_start is None
            or ref_end is None
            or ref_end < ref_start
            or not weight.is_finite()
            or weight <= 0
        ):
            continue
        figures = await _period(service, filters, products, ref_start, ref_end, weight)
        references.append(figures)
        weighted += weight * Decimal(figures.revenue) / figures.days
        weights += weight
    reference_per_day = weighted / weights if weights else None
    quantity_reference = (
        sum((Decimal(r.weight) * Decimal(r.quantity) / r.days for r in references), Decimal(0)) / weights
        if weights
        else None
    )
    current_per_day = Decimal(current.revenue) / current.days
    return CampaignReport(
        campaign=campaign, name=str(body.get("name") or ""), product_ids=products or [], campaign_period=current,
        reference_periods=references,
        reference_revenue_per_day=None if reference_per_day is None else divide(reference_per_day, 1),
        revenue_lift_percent=None if reference_per_day is None else _lift(current_per_day, reference_per_day),
        quantity_lift_percent=None if quantity_reference is None
        else _lift(Decimal(current.quantity) / current.days, quantity_reference),
    )  # fmt: skip
