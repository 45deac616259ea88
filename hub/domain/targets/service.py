"""Sales targets: authoring (validated, audited) and progress against actual sales.

A target belongs to one store (``location_id`` = the store id of the store settings). Its daily
goals live in ``sales_target_data``; what was achieved is computed from the sales tables by
:mod:`hub.domain.targets.actuals` whenever it is read. The POS asks for :meth:`progress`: the
store's targets for the current week, the given day +- 7 days.

Seed 001's ``sales_target_data.total_amount`` is therefore not a column: it is the
``total_amount`` of each day in the views. The per-product/category breakdown of a day
(``grp_id`` / ``dpt_id`` / ``plu_id``) is not kept; a target's ``data.target`` scope says which
products and categories count instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from hub.db.database import Database, Transaction
from hub.domain import audit, cloud_managed
from hub.domain.clock import now, now_iso
from hub.domain.errors import Invalid, NotFound
from hub.domain.money import MAX_AMOUNT, MoneyError, format_quantity, parse_quantity
from hub.domain.store_settings import StoreSettingsService
from hub.domain.targets.actuals import daily_actuals, percent
from hub.domain.targets.schemas import (
    AMOUNT_TYPES,
    DayAmount,
    DayTargetIn,
    DayView,
    ProgressView,
    SalesTargetIn,
    SalesTargetSummary,
    SalesTargetView,
    TargetData,
    TargetProgress,
)

WINDOW_DAYS = 7
"""The POS sees targets for the given day plus and minus this many days."""


def _stored_amount(target_type: str, amount: DayAmount, day: date) -> str:
    """A daily goal checked against the target's type, as ``sales_target_data`` keeps it."""
    where = {"target_date": day.isoformat()}
    if target_type in AMOUNT_TYPES:
        if not isinstance(amount, int):
            raise Invalid(
                "invalid_target_amount",
                f"{target_type} goals are amounts in minor units (JSON integers), got {amount!r}",
                details=where,
            )
        if amount < 0:
            raise Invalid(
                "negative_target_amount", f"a daily goal cannot be negative, got {amount}", details=where
            )
        if amount > MAX_AMOUNT:
            raise Invalid("invalid_target_amount", f"a daily goal of {amount} is too large", details=where)
        return str(amount)
    if not isinstance(amount, str):
        raise Invalid(
            "invalid_target_amount",
            f'{target_type} goals are quantities as decimal strings ("25"), got {amount!r}',
            details=where,
        )
    if amount.strip().startswith("-"):
        raise Invalid(
            "negative_target_amount", f"a daily goal cannot be negative, got {amount!r}", details=where
        )
    try:
        return format_quantity(parse_quantity(amount, allow_zero=True))
    except MoneyError as exc:
        raise Invalid("invalid_target_amount", str(exc), details=where) from None


def _loaded_amount(target_type: str, text: str) -> DayAmount:
    return int(text) if target_type in AMOUNT_TYPES else text


def _in_period(day: date, start: date, end: date | None) -> bool:
    return start <= day and (end is None or day <= end)


class SalesTargets:
    """CRUD for sales targets and their daily goals, and the POS progress view."""

    def __init__(self, db: Database, settings: StoreSettingsService) -> None:
        self.db = db
        self.settings = settings

    async def _store(self) -> tuple[str, str]:
        """The hub's store id and time zone (store settings)."""
        settings = (await self.settings.get()).settings
        return settings.store_id, settings.timezone

    async def today(self) -> date:
        """Today in the store's time zone."""
        _, timezone = await self._store()
        return now().astimezone(ZoneInfo(timezone)).date()

    # --- validation ------------------------------------------------------------------------

    async def _validate(self, tx: Transaction, body: SalesTargetIn) -> str:
        """Check a target's fields; returns its location id."""
        store_id, _ = await self._store()
        location_id = body.location_id if body.location_id is not None else store_id
        if location_id != store_id:
            raise Invalid(
                "unknown_location",
                f"location {location_id!r} is not this hub's store ({store_id!r})",
                details={"location_id": location_id, "store_id": store_id},
            )
        if body.end_date is not None and body.end_date < body.start_date:
            raise Invalid(
                "end_before_start",
                f"end_date {body.end_date} is before start_date {body.start_date}",
                details={"start_date": body.start_date.isoformat(), "end_date": body.end_date.isoformat()},
            )
        data = body.data
        if Decimal(data.multiplier) <= 0:
            raise Invalid(
                "invalid_multiplier", f"the multiplier must be greater than 0, got {data.multiplier!r}"
            )
        scope = data.target
        if body.type == "PRODUCT_SALES_QTY" and (scope is None or scope.is_empty()):
            raise Invalid(
                "target_scope_required",
                "a PRODUCT_SALES_QTY target needs data.target with products (plu) or categories (dpt, grp)",
            )
        if data.discount_id is not None and body.type != "DISCOUNT_SALES_QTY":
            raise Invalid(
                "discount_id_not_applicable", "data.discount_id only applies to DISCOUNT_SALES_QTY targets"
            )
        if scope is not None:
            await self._require_ids(tx, "products", scope.plu, "unknown_product")
            await self._require_ids(tx, "categories", [*scope.dpt, *scope.grp], "unknown_category")
        return location_id

    @staticmethod
    async def _require_ids(tx: Transaction, table: str, ids: Sequence[int], code: str) -> None:
        wanted = sorted(set(ids))
        if not wanted:
            return
        marks = ", ".join("?" * len(wanted))
        rows = await tx.fetchall(f"SELECT id FROM {table} WHERE id IN ({marks})", wanted)  # noqa: S608
        missing = sorted(set(wanted) - {int(r["id"]) for r in rows})
        if missing:
            raise Invalid(
                code,
                f"no such {table[:-1] if table == 'products' else 'category'}: {missing}",
                details={"ids": missing},
            )

    @staticmethod
    def _checked_days(
        target_type: str, start: date, end: date | None, days: Sequence[DayTargetIn]
    ) -> list[tuple[str, str]]:
        seen: set[date] = set()
        rows: list[tuple[str, str]] = []
        for day in days:
            if day.target_date in seen:
                raise Invalid(
                    "duplicate_day",
                    f"{day.target_date} is given twice",
                    details={"target_date": day.target_date.isoformat()},
                )
            seen.add(day.target_date)
            if not _in_period(day.target_date, start, end):
                raise Invalid(
                    "day_outside_period",
                    f"{day.target_date} is outside the target's period {start} .. {end or 'ongoing'}",
                    details={"target_date": day.target_date.isoformat()},
                )
            rows.append(
                (day.target_date.isoformat(), _stored_amount(target_type, day.target_amount, day.target_date))
            )
        return sorted(rows)

    # --- reads -----------------------------------------------------------------------------

    async def _row(self, target_id: int) -> sqlite3.Row:
        row = await self.db.fetchone("SELECT * FROM sales_targets WHERE id = ?", (target_id,))
        if row is None:
            raise NotFound("target_not_found", f"no sales target {target_id}", details={"id": target_id})
        return row

    async def all(self) -> list[SalesTargetSummary]:
        """Every target (newest period first) without its days."""
        rows = await self.db.fetchall(
            "SELECT t.*, (SELECT COUNT(*) FROM sales_target_data d WHERE d.target_id = t.id) AS days_count "
            "FROM sales_targets t ORDER BY t.start_date DESC, t.id"
        )
        return [
            SalesTargetSummary(
                id=r["id"],
                name=r["name"],
                location_id=r["location_id"],
                start_date=r["start_date"],
                end_date=r["end_date"],
                type=r["type"],
                data=msgspec.json.decode(r["data"], type=TargetData),
                days_count=r["days_count"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def get(self, target_id: int) -> SalesTargetView:
        """One target with each day that has a goal and what that day achieved."""
        row = await self._row(target_id)
        data = msgspec.json.decode(row["data"], type=TargetData)
        goals = await self.db.fetchall(
            "SELECT target_date, target_amount FROM sales_target_data WHERE target_id = ? ORDER BY target_date",
            (target_id,),
        )
        days: list[DayView] = []
        if goals:
            _, timezone = await self._store()
            achieved = await daily_actuals(
                self.db,
                target_type=row["type"],
                data=data,
                location_id=row["location_id"],
                first=date.fromisoformat(goals[0]["target_date"]),
                last=date.fromisoformat(goals[-1]["target_date"]),
                timezone=timezone,
            )
            for goal in goals:
                amount = _loaded_amount(row["type"], goal["target_amount"])
                total = achieved[date.fromisoformat(goal["target_date"])]
                days.append(
                    DayView(
                        target_date=goal["target_date"],
                        target_amount=amount,
                        total_amount=total,
                        percent=percent(amount, total),
                    )
                )
        return SalesTargetView(
            id=row["id"],
            name=row["name"],
            location_id=row["location_id"],
            start_date=row["start_date"],
            end_date=row["end_date"],
            type=row["type"],
            data=data,
            days=days,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def progress(self, on: date | None = None) -> ProgressView:
        """The store's targets over ``on`` +- 7 days (default: today in the store's time zone).

        Each target lists the days of the window inside its period: the goal (``None`` if no
        goal is set for that day), what was achieved and the percentage.
        """
        store_id, timezone = await self._store()
        center = on or now().astimezone(ZoneInfo(timezone)).date()
        first, last = center - timedelta(days=WINDOW_DAYS), center + timedelta(days=WINDOW_DAYS)
        rows = await self.db.fetchall(
            "SELECT * FROM sales_targets WHERE location_id = ? AND start_date <= ? "
            "AND (end_date IS NULL OR end_date >= ?) ORDER BY start_date, id",
            (store_id, last.isoformat(), first.isoformat()),
        )
        targets: list[TargetProgress] = []
        for row in rows:
            data = msgspec.json.decode(row["data"], type=TargetData)
            start = max(first, date.fromisoformat(row["start_date"]))
            end = min(last, date.fromisoformat(row["end_date"])) if row["end_date"] else last
            goals = {
                g["target_date"]: _loaded_amount(row["type"], g["target_amount"])
                for g in await self.db.fetchall(
                    "SELECT target_date, target_amount FROM sales_target_data "
                    "WHERE target_id = ? AND target_date BETWEEN ? AND ?",
                    (row["id"], start.isoformat(), end.isoformat()),
                )
            }
            achieved = await daily_actuals(
                self.db,
                target_type=row["type"],
                data=data,
                location_id=store_id,
                first=start,
                last=end,
                timezone=timezone,
            )
            days = [
                DayView(
                    target_date=day.isoformat(),
                    target_amount=goals.get(day.isoformat()),
                    total_amount=total,
                    percent=percent(goals.get(day.isoformat()), total),
                )
                for day, total in sorted(achieved.items())
            ]
            targets.append(
                TargetProgress(
                    id=row["id"],
                    name=row["name"],
                    type=row["type"],
                    data=data,
                    start_date=row["start_date"],
                    end_date=row["end_date"],
                    days=days,
                )
            )
        return ProgressView(
            date=center.isoformat(),
            from_date=first.isoformat(),
            to_date=last.isoformat(),
            location_id=store_id,
            timezone=timezone,
            targets=targets,
        )

    # --- writes ----------------------------------------------------------------------------

    async def create(self, body: SalesTargetIn, *, actor: str) -> SalesTargetView:
        """Add a target (and its daily goals when ``days`` is given)."""
        await cloud_managed.ensure_local(self.db, cloud_managed.SALES_TARGETS)
        at = now_iso()
        async with self.db.transaction() as tx:
            location_id = await self._validate(tx, body)
            days = self._checked_days(body.type, body.start_date, body.end_date, body.days or [])
            row = await tx.fetchone(
                "INSERT INTO sales_targets (name, location_id, start_date, end_date, type, data, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    body.name,
                    location_id,
                    body.start_date.isoformat(),
                    body.end_date.isoformat() if body.end_date else None,
                    body.type,
                    msgspec.json.encode(body.data).decode(),
                    at,
                    at,
                ),
            )
            assert row is not None
            target_id = int(row["id"])
            await self._write_days(tx, target_id, days)
            await audit.record(
                tx,
                actor=actor,
                action="sales_target.created",
                target=f"sales_target:{target_id}",
                details={"name": body.name, "type": body.type, "days": len(days)},
            )
        return await self.get(target_id)

    async def update(self, target_id: int, body: SalesTargetIn, *, actor: str) -> SalesTargetView:
        """Replace a target's fields; its daily goals are replaced when ``days`` is given, else
        kept, and must fit the new period and type."""
        await cloud_managed.ensure_local(self.db, cloud_managed.SALES_TARGETS)
        async with self.db.transaction() as tx:
            current = await tx.fetchone("SELECT type FROM sales_targets WHERE id = ?", (target_id,))
            if current is None:
                raise NotFound("target_not_found", f"no sales target {target_id}", details={"id": target_id})
            location_id = await self._validate(tx, body)
            if body.days is not None:
                days = self._checked_days(body.type, body.start_date, body.end_date, body.days)
            else:
                kept = [
                    DayTargetIn(
                        target_date=date.fromisoformat(k["target_date"]),
                        target_amount=_loaded_amount(current["type"], k["target_amount"]),
                    )
                    for k in await tx.fetchall(
                        "SELECT target_date, target_amount FROM sales_target_data WHERE target_id = ?",
                        (target_id,),
                    )
                ]
                try:
                    days = self._checked_days(body.type, body.start_date, body.end_date, kept)
                except Invalid as exc:
                    raise Invalid(
                        "days_do_not_fit",
                        f"the target's daily goals do not fit the change ({exc}); send days to replace them",
                        details={"reason": exc.code, **(exc.details or {})},
                    ) from None
            await tx.execute(
                "UPDATE sales_targets SET name = ?, location_id = ?, start_date = ?, end_date = ?, type = ?, data = ?, "
                "updated_at = ? WHERE id = ?",
                (
                    body.name,
                    location_id,
                    body.start_date.isoformat(),
                    body.end_date.isoformat() if body.end_date else None,
                    body.type,
                    msgspec.json.encode(body.data).decode(),
                    now_iso(),
                    target_id,
                ),
            )
            await self._write_days(tx, target_id, days)
            await audit.record(
                tx,
                actor=actor,
                action="sales_target.updated",
                target=f"sales_target:{target_id}",
                details={"name": body.name, "type": body.type, "days": len(days)},
            )
        return await self.get(target_id)

    async def set_days(
        self, target_id: int, days_in: Sequence[DayTargetIn], *, actor: str
    ) -> SalesTargetView:
        """Replace the daily goals of a target (days left out have no goal)."""
        await cloud_managed.ensure_local(self.db, cloud_managed.SALES_TARGETS)
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM sales_targets WHERE id = ?", (target_id,))
            if row is None:
                raise NotFound("target_not_found", f"no sales target {target_id}", details={"id": target_id})
            end = date.fromisoformat(row["end_date"]) if row["end_date"] else None
            days = self._checked_days(row["type"], date.fromisoformat(row["start_date"]), end, days_in)
            await self._write_days(tx, target_id, days)
            await tx.execute("UPDATE sales_targets SET updated_at = ? WHERE id = ?", (now_iso(), target_id))
            await audit.record(
                tx,
                actor=actor,
                action="sales_target.days_set",
                target=f"sales_target:{target_id}",
                details={"days": len(days)},
            )
        return await self.get(target_id)

    async def delete(self, target_id: int, *, actor: str) -> None:
        """Remove a target and its daily goals (sales are not touched)."""
        await cloud_managed.ensure_local(self.db, cloud_managed.SALES_TARGETS)
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT name FROM sales_targets WHERE id = ?", (target_id,))
            if row is None:
                raise NotFound("target_not_found", f"no sales target {target_id}", details={"id": target_id})
            await tx.execute("DELETE FROM sales_target_data WHERE target_id = ?", (target_id,))
            await tx.execute("DELETE FROM sales_targets WHERE id = ?", (target_id,))
            await audit.record(
                tx,
                actor=actor,
                action="sales_target.deleted",
                target=f"sales_target:{target_id}",
                details={"name": row["name"]},
            )

    @staticmethod
    async def _write_days(tx: Transaction, target_id: int, days: list[tuple[str, str]]) -> None:
        await tx.execute("DELETE FROM sales_target_data WHERE target_id = ?", (target_id,))
        await tx.executemany(
            "INSERT INTO sales_target_data (target_id, target_date, target_amount) VALUES (?, ?, ?)",
            [(target_id, day, amount) for day, amount in days],
        )
