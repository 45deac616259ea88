"""Quick reports for the POS: today, this week or this month, for the store or one terminal.

Total, number of sales, average sale, items sold, top products, the cash/card split, and for
a terminal with an open shift its starting and expected cash. Periods are store-local (the
week starts on Monday); training documents never count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

import msgspec

from hub.db.database import Database
from hub.domain.clock import iso, now
from hub.domain.money import format_quantity
from hub.domain.shifts.clock_rules import business_date, day_bounds
from hub.domain.shifts.figures import shift_figures
from hub.domain.store_settings import StoreSettingsService

Period = Literal["today", "week", "month"]


class TopProduct(msgspec.Struct, kw_only=True):
    product_id: int | None
    name: str
    quantity: str
    total: int


class QuickReport(msgspec.Struct, kw_only=True):
    period: Period
    start: str
    end: str
    terminal_id: str | None
    sales_count: int
    total: int
    refunds_total: int
    average_sale: int
    items_sold: str
    cash: int
    card: int
    other: int
    top_products: list[TopProduct]
    opening_cash: int | None
    expected_cash: int | None


class QuickReports:
    def __init__(
        self, db: Database, settings: StoreSettingsService, clock: Callable[[], datetime] = now
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock

    def _range(self, period: Period, timezone: str) -> tuple[datetime, datetime]:
        today = business_date(self._clock(), timezone)
        if period == "week":
            first = today - timedelta(days=today.weekday())
            return day_bounds(first, timezone)[0], day_bounds(first + timedelta(days=6), timezone)[1]
        if period == "month":
            first = today.replace(day=1)
            following = (first + timedelta(days=32)).replace(day=1)
            return day_bounds(first, timezone)[0], day_bounds(following, timezone)[0]
        return day_bounds(today, timezone)

    async def report(self, period: Period, terminal_id: str | None = None) -> QuickReport:
        settings = (await self._settings.get()).settings
        start, end = self._range(period, settings.timezone)
        where = "s.training = 0 AND s.created_at >= ? AND s.created_at < ?"
        params: list[object] = [iso(start), iso(end)]
        if terminal_id:
            where += " AND s.terminal_id = ?"
            params.append(terminal_id)
        docs = await self._db.fetchall(
            f"SELECT doc_type, COUNT(*) AS n, COALESCE(SUM(total), 0) AS total FROM sales s WHERE {where} GROUP BY doc_type",  # noqa: S608
            params,
        )
        by = {r["doc_type"]: (int(r["n"]), int(r["total"])) for r in docs}
        count = by.get("receipt", (0, 0))[0] + by.get("invoice", (0, 0))[0]
        total = by.get("receipt", (0, 0))[1] + by.get("invoice", (0, 0))[1]
        pays = await self._db.fetchall(
            f"SELECT p.tender_type, SUM(p.amount) AS amount FROM payments p JOIN sales s ON s.id = p.sale_id WHERE {where} "  # noqa: S608
            "GROUP BY p.tender_type",
            params,
        )
        tenders = {r["tender_type"]: int(r["amount"]) for r in pays}
        lines = await self._db.fetchall(
            f"SELECT l.product_id, l.name, l.quantity, l.net FROM sale_lines l JOIN sales s ON s.id = l.sale_id WHERE {where}",  # noqa: S608
            params,
        )
        items = Decimal(0)
        per_product: dict[tuple[int | None, str], list[Decimal | int]] = {}
        for line in lines:
            quantity = Decimal(line["quantity"])
            items += quantity
            entry = per_product.setdefault((line["product_id"], line["name"]), [Decimal(0), 0])
            entry[0] = Decimal(entry[0]) + quantity
            entry[1] = int(entry[1]) + int(line["net"])
        top = sorted(per_product.items(), key=lambda kv: (-int(kv[1][1]), kv[0][1]))[:10]
        opening = expected = None
        if terminal_id:
            shift = await self._db.fetchone(
                "SELECT id, opening_cash FROM shifts WHERE terminal_id = ? AND state = 'open'", (terminal_id,)
            )
            if shift is not None:
                figures = await shift_figures(self._db, shift["id"], shift["opening_cash"])
                opening, expected = figures.opening_cash, figures.expected_cash
        return QuickReport(
            period=period, start=iso(start), end=iso(end), terminal_id=terminal_id, sales_count=count, total=total,
            refunds_total=by.get("refund", (0, 0))[1], average_sale=(total // count) if count else 0,
            items_sold=("-" if items < 0 else "") + format_quantity(abs(items)),
            cash=tenders.get("cash", 0), card=tenders.get("card", 0),
            other=sum(v for k, v in tenders.items() if k not in ("cash", "card")),
            top_products=[TopProduct(product_id=k[0], name=k[1], quantity=format_quantity(abs(Decimal(v[0]))), total=int(v[1]))
                          for k, v in top],
            opening_cash=opening, expected_cash=expected,
        )  # fmt: skip
