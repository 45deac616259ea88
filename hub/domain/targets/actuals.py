"""What a target achieved, day by day, computed from the sales tables.

Rules (seed 001 types on the hub's sales model):

* Only the target's store (``sales.store_id = location_id``) and never training sales.
* A sale belongs to the day of its ``created_at`` in the store's time zone (store settings
  ``timezone``), so "today" on the POS and here agree.
* Refunds (``doc_type = 'refund'``) carry negative totals and quantities and subtract from the
  amounts and quantities of the day they were made.
* ``TOTAL_SALES_AMOUNT``: the sum of sale totals (with a scope: the sum of the scoped lines).
* ``AVG_SALES_AMOUNT``: that sum divided by the number of customers, rounded half-up.
* ``TOTAL_CUSTOMERS_QTY``: receipts and invoices (with a scope: those with a scoped line);
  a refund is not a customer and does not lower the count.
* ``PRODUCT_SALES_QTY``: units of the scoped lines (refunded units subtract).
* ``DISCOUNT_SALES_QTY``: sale lines that carried a discount (``sale_lines.discount > 0``:
  gross minus net, so a line discount, the line's share of a cart discount and a gratis unit
  all count), within the scope if one is set; a refund line of a discounted line (its
  discount is negative) takes one back. The hub has no
  discount catalogue (no discount ids) yet, so ``discount_id`` is kept but not used: every
  discounted line counts.
* The multiplier scales the achieved value (amounts rounded half-up to a minor unit,
  quantities to 3 places).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from hub.db.database import Database
from hub.domain.clock import iso, parse_iso
from hub.domain.money import QUANTITY_STEP, format_signed_quantity, round_minor
from hub.domain.targets.schemas import DayAmount, TargetData, TargetScope

PERCENT_STEP = Decimal("0.01")


@dataclass
class _Day:
    """One local day's raw figures for one target."""

    amount: int = 0
    quantity: Decimal = Decimal(0)
    discounted: int = 0
    customers: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Scope:
    """A target scope resolved to sets for quick membership tests."""

    plu: frozenset[int]
    dpt: frozenset[int]
    grp: frozenset[int]

    @classmethod
    def of(cls, scope: TargetScope | None) -> _Scope | None:
        if scope is None or scope.is_empty():
            return None
        return cls(frozenset(scope.plu), frozenset(scope.dpt), frozenset(scope.grp))

    def matches(self, line: sqlite3.Row) -> bool:
        return (
            line["product_id"] in self.plu or line["category_id"] in self.dpt or line["parent_id"] in self.grp
        )


def local_day_bounds(first: date, last: date, timezone: str) -> tuple[str, str]:
    """The UTC ``created_at`` bounds (inclusive, exclusive) of local days ``first`` .. ``last``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(0, 0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=zone)
    return iso(start), iso(end)


def multiplier_of(data: TargetData) -> Decimal:
    """The target's multiplier (validated > 0 when the target was saved)."""
    return Decimal(data.multiplier)


async def daily_actuals(
    db: Database,
    *,
    target_type: str,
    data: TargetData,
    location_id: str,
    first: date,
    last: date,
    timezone: str,
) -> dict[date, DayAmount]:
    """The achieved value of every local day ``first`` .. ``last`` (days without sales: 0)."""
    zone = ZoneInfo(timezone)
    since, until = local_day_bounds(first, last, timezone)
    scope = _Scope.of(data.target)
    days: dict[date, _Day] = defaultdict(_Day)

    def day_of(created_at: str) -> date:
        return parse_iso(created_at).astimezone(zone).date()

    needs_lines = scope is not None or target_type in ("PRODUCT_SALES_QTY", "DISCOUNT_SALES_QTY")
    if not needs_lines:
        sales = await db.fetchall(
            "SELECT id, doc_type, total, created_at FROM sales "
            "WHERE training = 0 AND store_id = ? AND created_at >= ? AND created_at < ?",
            (location_id, since, until),
        )
        for sale in sales:
            day = days[day_of(sale["created_at"])]
            day.amount += int(sale["total"])
            if sale["doc_type"] != "refund":
                day.customers.add(int(sale["id"]))
    else:
        lines = await db.fetchall(
            "SELECT s.id AS sale_id, s.doc_type, s.created_at, l.product_id, l.quantity, l.total, "
            "l.discount, p.category_id, c.parent_id FROM sale_lines l "
            "JOIN sales s ON s.id = l.sale_id "
            "LEFT JOIN products p ON p.id = l.product_id "
            "LEFT JOIN categories c ON c.id = p.category_id "
            "WHERE s.training = 0 AND s.store_id = ? AND s.created_at >= ? AND s.created_at < ?",
            (location_id, since, until),
        )
        for line in lines:
            if scope is not None and not scope.matches(line):
                continue
            day = days[day_of(line["created_at"])]
            day.amount += int(line["total"])
            day.quantity += Decimal(line["quantity"])
            discount = int(line["discount"])
            day.discounted += (discount > 0) - (discount < 0)
            if line["doc_type"] != "refund":
                day.customers.add(int(line["sale_id"]))

    multiplier = multiplier_of(data)
    result: dict[date, DayAmount] = {}
    current = first
    while current <= last:
        result[current] = _value(target_type, days.get(current, _Day()), multiplier)
        current += timedelta(days=1)
    return result


def _value(target_type: str, day: _Day, multiplier: Decimal) -> DayAmount:
    if target_type == "TOTAL_SALES_AMOUNT":
        return round_minor(Decimal(day.amount) * multiplier)
    if target_type == "AVG_SALES_AMOUNT":
        if not day.customers:
            return 0
        return round_minor(Decimal(day.amount) / len(day.customers) * multiplier)
    if target_type == "TOTAL_CUSTOMERS_QTY":
        raw = Decimal(len(day.customers))
    elif target_type == "PRODUCT_SALES_QTY":
        raw = day.quantity
    else:  # DISCOUNT_SALES_QTY
        raw = Decimal(day.discounted)
    return format_signed_quantity((raw * multiplier).quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP))


def percent(target: DayAmount | None, achieved: DayAmount) -> str | None:
    """Achieved as a percentage of the goal, 2 places half-up ("87.5"); None without a goal > 0."""
    if target is None:
        return None
    goal = Decimal(str(target))
    if goal <= 0:
        return None
    value = (Decimal(achieved) * 100 / goal).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)
    text = format(value, "f").rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
