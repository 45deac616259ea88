"""The report projector: turns newly stored facts into report rows, in the ingest transaction.

:class:`ReportProjector` is registered in :func:`cloud.sync.projections.default_projectors`;
:class:`~cloud.sync.ingest.EventIngest` calls it once per batch with the facts the batch really
inserted, so every fact is projected exactly once (a redelivery never reaches it).

A fact was decoded into its typed payload before it was stored, but typed is not sensible: a
quantity may be ``"lots"``, a time may have no zone, an amount may be absurd, shift figures are a
free dict. Each fact is first turned into plain rows in Python (:func:`plan_event`); one that
does not fit is logged and left out of the reports (it stays in ``events``, the evidence). The
rows are then written in one savepoint; should the database still refuse something, each
fact's rows are retried in a savepoint of their own, so one bad fact never fails the batch (a
failed batch would be retried forever and stop the hub's stream).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.bulk import copy_rows
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
from protocols.sync.documents import SaleDocument
from protocols.sync.messages import CashMoved, ShiftClosed, ShiftOpened

if TYPE_CHECKING:
    from cloud.sync.projections import StoredEvent

log = logging.getLogger(__name__)
SALE_TYPES = ("sale.completed", "sale.refunded")
SHIFT_PAYLOADS: dict[str, type[msgspec.Struct]] = {"shift.opened": ShiftOpened, "shift.closed": ShiftClosed,
                                                    "cash.moved": CashMoved}  # fmt: skip
SHIFT_TYPES = tuple(SHIFT_PAYLOADS)
MAX_MINOR = 10**15  # far beyond any real document, far below BIGINT
MAX_QUANTITY = Decimal("999999999999.999")
DAILY_SUMS = ("sales_count", "refund_count", "gross", "discounts", "net", "tax", "total", "refund_total",
              "tender_amount")  # fmt: skip
NO_TENDER = "-"
DailyKey = tuple[uuid.UUID, date, uuid.UUID, str, str]


class Unfit(ValueError):
    """A stored fact whose content cannot be projected."""


def amount(value: Any) -> int:
    """An integer amount in minor units within :data:`MAX_MINOR`; raises :class:`Unfit`."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_MINOR:
        raise Unfit(f"amount {value!r} out of range")
    return value


def text(value: Any, size: int) -> str:
    """A string fit for a ``String(size)`` column on every database (no NUL, truncated)."""
    return str(value if value is not None else "").replace("\x00", "")[:size]


def quantity(value: str) -> Decimal:
    """A decimal quantity with at most 3 places; raises :class:`Unfit`."""
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise Unfit(f"quantity {value!r} is not a number") from None
    if not number.is_finite() or abs(number) > MAX_QUANTITY or number != number.quantize(Decimal("0.001")):
        raise Unfit(f"quantity {value!r} out of range")
    return number


def moment(value: str, fallback: datetime) -> datetime:
    """An aware time from ISO text (a time without a zone is read as UTC), else ``fallback``."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return fallback
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def zone(name: str | None) -> tzinfo:
    """The store's zone; UTC for an unknown one."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@dataclass
class EventRows:
    """What one fact adds: documents with their parts, rollup deltas, shift upserts."""

    event: StoredEvent
    sales: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    taxes: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    daily: dict[DailyKey, dict[str, int]] = field(default_factory=dict)
    shifts: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (insert, on conflict)

    def add_daily(self, key: DailyKey, **sums: int) -> None:
        """Add to the rollup row at ``key``."""
        row = self.daily.setdefault(key, dict.fromkeys(DAILY_SUMS, 0))
        for name, value in sums.items():
            row[name] += value


def _sale_rows(rows: EventRows, doc: SaleDocument, tz: tzinfo) -> None:
    event = rows.event
    at = moment(doc.created_at, event.occurred_at)
    business_date = at.astimezone(tz).date()
    sale_id = uuid.uuid4()
    totals = {"gross": amount(doc.subtotal), "discounts": amount(doc.discount_total),
              "net": amount(doc.total) - amount(doc.tax_total), "tax": amount(doc.tax_total),
              "total": amount(doc.total)}  # fmt: skip
    seller = text(doc.seller, 120)
    rows.sales.append({
        "id": sale_id, "created_at": at, "tenant_id": event.tenant_id, "store_id": event.store_id,
        "hub_id": event.hub_id, "event_id": event.id, "sale_uuid": text(doc.uuid, 64),
        "doc_type": doc.doc_type, "number_text": text(doc.number_text, 64), "business_date": business_date,
        "seller": seller, "terminal_id": text(doc.terminal_id, 64), "currency": text(doc.currency, 3),
        "training": bool(doc.training), **totals,
    })  # fmt: skip
    for line in doc.lines:
        product = line.product_id if line.product_id is None or abs(line.product_id) < 2**62 else None
        rows.lines.append({
            "id": uuid.uuid4(), "created_at": at, "sale_id": sale_id, "line_no": int(line.line_no) % 2**31,
            "product_id": product, "name": text(line.name, 200), "quantity": quantity(line.quantity),
            "gross": amount(line.gross), "discount": amount(line.discount), "net": amount(line.net),
            "total": amount(line.total),
        })  # fmt: skip
    for tax in doc.taxes:
        rows.taxes.append({
            "id": uuid.uuid4(), "created_at": at, "sale_id": sale_id, "rate": text(tax.rate, 16).strip(),
            "name": text(tax.name, 120), "inclusive": bool(tax.inclusive), "base": amount(tax.base),
            "amount": amount(tax.amount),
        })  # fmt: skip
    tenders: dict[str, int] = {}
    for payment in doc.payments:
        tender = text(payment.tender_id, 64)
        paid = amount(payment.amount)
        key = tender or NO_TENDER  # '' is the rollup's "every tender" row
        tenders[key] = tenders.get(key, 0) + paid
        rows.payments.append({
            "id": uuid.uuid4(), "created_at": at, "sale_id": sale_id, "tender_id": tender,
            "tender_type": text(payment.tender_type, 32), "amount": paid,
        })  # fmt: skip
    if doc.training:
        return  # kept for the drill-down's sake, never counted
    refund = doc.doc_type == "refund"
    counts = {"sales_count": 0 if refund else 1, "refund_count": 1 if refund else 0,
              "refund_total": totals["total"] if refund else 0}  # fmt: skip
    base_key = (event.tenant_id, business_date, event.store_id, seller)
    rows.add_daily((*base_key, ALL_TENDERS), **counts, **totals)  # type: ignore[arg-type]
    for tender, paid in tenders.items():
        rows.add_daily((*base_key, tender), **counts, **totals, tender_amount=paid)  # type: ignore[arg-type]


def _figure(figures: dict[str, Any], name: str) -> int:
    value = figures.get(name, 0)
    return amount(value if value is not None else 0)


def _shift_key(
    event: StoredEvent, shift_id: int, terminal: str, when: datetime, tz: tzinfo
) -> dict[str, Any]:
    if abs(shift_id) >= 2**62:
        raise Unfit(f"shift id {shift_id} out of range")
    return {"id": uuid.uuid4(), "created_at": utcnow(), "tenant_id": event.tenant_id, "store_id": event.store_id,
            "hub_id": event.hub_id, "shift_id": shift_id, "terminal_id": text(terminal, 64), "employee": "",
            "business_date": when.astimezone(tz).date(), "auto_closed": False, "opening_cash": 0, "cash_sales": 0,
            "card_sales": 0, "cash_in": 0, "cash_out": 0, "expected_cash": 0}  # fmt: skip


def _shift_rows(rows: EventRows, payload: Any, tz: tzinfo) -> None:
    event = rows.event
    if isinstance(payload, ShiftOpened):
        at = moment(payload.at, event.occurred_at)
        row = _shift_key(event, payload.shift_id, payload.terminal_id, at, tz)
        changes = {"employee": text(payload.employee, 120), "opened_at": at,
                   "opening_cash": amount(payload.opening_cash), "business_date": row["business_date"]}  # fmt: skip
        rows.shifts.append(({**row, **changes}, changes))
    elif isinstance(payload, CashMoved):
        at = moment(payload.at, event.occurred_at)
        row = _shift_key(event, payload.shift_id, "", at, tz)
        sign = {"cash_in": "cash_in", "postal_cod": "cash_in", "commission": "cash_in", "cash_out": "cash_out",
                "handover": "cash_out"}.get(payload.kind)  # fmt: skip
        if sign is None or payload.tender_type != "cash":
            return
        moved = amount(payload.amount)
        rows.shifts.append(({**row, sign: moved}, {sign: ("add", moved)}))
    elif isinstance(payload, ShiftClosed):
        at = moment(payload.at, event.occurred_at)
        figures = payload.figures if isinstance(payload.figures, dict) else {}
        cash = next((t for t in figures.get("tenders") or [] if isinstance(t, dict) and t.get("tender_type") == "cash"),
                    {})  # fmt: skip
        counted, difference = cash.get("counted"), cash.get("difference")
        changes = {
            "closed_at": at, "auto_closed": bool(payload.auto_closed),
            "opening_cash": _figure(figures, "opening_cash"), "cash_sales": _figure(figures, "cash_sales"),
            "card_sales": _figure(figures, "card_sales"),
            "cash_in": _figure(figures, "cash_in") + _figure(figures, "postal_cod") + _figure(figures, "commission"),
            "cash_out": _figure(figures, "cash_out") + _figure(figures, "handovers"),
            "expected_cash": _figure(figures, "expected_cash"),
            "counted_cash": None if counted is None else amount(counted),
            "difference": None if difference is None else amount(difference),
        }  # fmt: skip
        row = _shift_key(event, payload.shift_id, payload.terminal_id, at, tz)
        rows.shifts.append(({**row, **changes}, changes))


def plan_event(event: StoredEvent, tz: tzinfo) -> EventRows:
    """The rows one fact adds; raises :class:`Unfit` (or a decode error) when it cannot be read."""
    rows = EventRows(event)
    kind: type[msgspec.Struct] = SaleDocument if event.type in SALE_TYPES else SHIFT_PAYLOADS[event.type]
    # The ingest has decoded it already; decoding again costs as much as the rest of the planning.
    payload = (
        event.decoded if isinstance(event.decoded, kind) else msgspec.json.decode(event.payload, type=kind)
    )
    if isinstance(payload, SaleDocument):
        _sale_rows(rows, payload, tz)
    else:
        _shift_rows(rows, payload, tz)
    return rows


async def _write(session: AsyncSession, plans: Sequence[EventRows]) -> None:
    dialect: Any = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    for model, attr in ((ReportSale, "sales"), (ReportSaleLine, "lines"), (ReportSaleTax, "taxes"),
                        (ReportSalePayment, "payments")):  # fmt: skip
        # New rows only (each fact is projected once): COPY on PostgreSQL.
        await copy_rows(
            session, cast(Table, model.__table__), [row for plan in plans for row in getattr(plan, attr)]
        )
    daily: dict[DailyKey, dict[str, int]] = {}
    for plan in plans:
        for key, sums in plan.daily.items():
            total = daily.setdefault(key, dict.fromkeys(DAILY_SUMS, 0))
            for name, value in sums.items():
                total[name] += value
    if daily:
        # In key order, so two batches that touch the same rows lock them in the same order.
        daily_table = ReportDaily.__table__
        insert = dialect.insert(daily_table)
        statement = insert.on_conflict_do_update(
            index_elements=["tenant_id", "business_date", "store_id", "seller", "tender"],
            set_={name: daily_table.c[name] + insert.excluded[name] for name in DAILY_SUMS},
        )
        now = utcnow()
        await session.execute(statement, [
            {"id": uuid.uuid4(), "created_at": now, "tenant_id": k[0], "business_date": k[1], "store_id": k[2],
             "seller": k[3], "tender": k[4], **sums}
            for k, sums in sorted(daily.items())
        ])  # fmt: skip
    for plan in plans:
        for row, changes in plan.shifts:
            shift_table = ReportShift.__table__
            insert = dialect.insert(shift_table)
            updates = {
                name: shift_table.c[name] + value[1] if isinstance(value, tuple) else value
                for name, value in changes.items()
            }
            await session.execute(insert.on_conflict_do_update(index_elements=["hub_id", "shift_id"], set_=updates),
                                  [row])  # fmt: skip


async def _known_sales(session: AsyncSession, plans: Sequence[EventRows]) -> set[tuple[Any, str]]:
    wanted = {(row["tenant_id"], row["sale_uuid"]) for plan in plans for row in plan.sales}
    if not wanted:
        return set()
    query = select(ReportSale.tenant_id, ReportSale.sale_uuid).where(
        ReportSale.sale_uuid.in_([u for _, u in wanted])
    )
    return {(r.tenant_id, r.sale_uuid) for r in await session.execute(query)} & wanted


class ReportProjector:
    """The :class:`~cloud.sync.projections.Projector` that keeps the report tables."""

    async def __call__(self, session: AsyncSession, events: Sequence[StoredEvent]) -> None:
        wanted = sorted(
            (e for e in events if e.type in SALE_TYPES + SHIFT_TYPES), key=lambda e: (str(e.hub_id), e.seq)
        )
        if not wanted:
            return
        stores = {e.store_id for e in wanted}
        zones = {row.id: zone(row.timezone) for row in await session.execute(
            select(Store.id, Store.timezone).where(Store.id.in_(stores)))}  # fmt: skip
        plans: list[EventRows] = []
        for event in wanted:
            try:
                plans.append(plan_event(event, zones.get(event.store_id, UTC)))
            except Exception as exc:  # any surprise in a fact's content (an overflowing date, ...)
                log.warning(
                    "event %s (hub %s seq %s) left out of reports: %s", event.id, event.hub_id, event.seq, exc
                )
        # A document the reports already hold (the hub sent it again under a new seq) counts once.
        seen = await _known_sales(session, plans)
        kept: list[EventRows] = []
        for plan in plans:
            keys = {(row["tenant_id"], row["sale_uuid"]) for row in plan.sales}
            if keys & seen:
                log.warning("event %s repeats sale %s; not counted again", plan.event.id, keys)
                continue
            seen |= keys
            kept.append(plan)
        try:
            async with session.begin_nested():
                await _write(session, kept)
        except SQLAlchemyError:
            log.exception("report rows of %d facts refused together; writing them one by one", len(kept))
            for plan in kept:
                try:
                    async with session.begin_nested():
                        await _write(session, [plan])
                except SQLAlchemyError:
                    log.exception(
                        "event %s left out of reports: the database refused its rows", plan.event.id
                    )
