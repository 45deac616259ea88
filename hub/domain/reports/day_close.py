"""X and Z reports: the day's totals, read (X) or closed (Z).

The "day" is every document after the last Z. X reads it and changes nothing. Z takes the
next Z number inside the same transaction that stores it, so a number is never skipped or used
twice (the column is also UNIQUE); the stored record carries running grand totals and is
immutable (database triggers refuse UPDATE and DELETE). Both print on the receipt printer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from hub.db.database import Database
from hub.domain import audit, outbox
from hub.domain.clock import iso, now
from hub.domain.errors import Conflict, NotFound
from hub.domain.fiscal.documents import enqueue_z
from hub.domain.fiscal.service import Fiscalisation
from hub.domain.print_jobs import PrintJobs
from hub.domain.shifts import printouts
from hub.domain.shifts.clock_rules import business_date
from hub.domain.shifts.figures import Reader
from hub.domain.store_settings import StoreSettings, StoreSettingsService
from protocols.escpos import ReceiptDocument


class RateTotal(msgspec.Struct, kw_only=True):
    name: str
    rate: str
    base: int
    amount: int


class DayTotals(msgspec.Struct, kw_only=True):
    """What an X or Z report shows."""

    first_sale_id: int | None
    last_sale_id: int | None
    receipts: int
    invoices: int
    refunds: int
    sales_total: int
    refunds_total: int
    net_total: int
    discount_total: int
    tax_total: int
    taxes: list[RateTotal]
    tenders: dict[str, int]
    first_number: str | None
    last_number: str | None


class ZReport(msgspec.Struct, kw_only=True):
    id: int
    number: int
    business_date: str
    totals: DayTotals
    grand_total: int
    grand_refunds: int
    created_at: str
    created_by: str
    print_job_id: int | None = None


class XReport(msgspec.Struct, kw_only=True):
    since_z: int
    at: str
    totals: DayTotals
    print_job_id: int | None = None


async def _last_z(db: Reader) -> dict[str, Any]:
    rows = await db.fetchall(
        "SELECT number, last_sale_id, grand_total, grand_refunds FROM z_reports ORDER BY number DESC LIMIT 1"
    )
    if not rows:
        return {"number": 0, "last_sale_id": 0, "grand_total": 0, "grand_refunds": 0}
    row = rows[0]
    return {"number": row["number"], "last_sale_id": row["last_sale_id"] or 0,
            "grand_total": row["grand_total"], "grand_refunds": row["grand_refunds"]}  # fmt: skip


async def day_totals(db: Reader, after_sale_id: int) -> DayTotals:
    """Totals of the real (not training) documents with an id above ``after_sale_id``."""
    where = "s.id > ? AND s.training = 0"
    docs = await db.fetchall(
        f"SELECT doc_type, COUNT(*) AS n, COALESCE(SUM(total), 0) AS total, COALESCE(SUM(discount_total), 0) AS discount, "  # noqa: S608
        f"COALESCE(SUM(tax_total), 0) AS tax, MIN(id) AS first_id, MAX(id) AS last_id FROM sales s WHERE {where} GROUP BY doc_type",
        (after_sale_id,),
    )
    by = {r["doc_type"]: r for r in docs}
    taxes = await db.fetchall(
        f"SELECT t.name, t.rate, SUM(t.base) AS base, SUM(t.amount) AS amount FROM sale_taxes t JOIN sales s ON s.id = t.sale_id "  # noqa: S608
        f"WHERE {where} GROUP BY t.rate_id, t.name, t.rate ORDER BY t.rate_id",
        (after_sale_id,),
    )
    pays = await db.fetchall(
        f"SELECT p.tender_id, SUM(p.amount) AS amount FROM payments p JOIN sales s ON s.id = p.sale_id WHERE {where} "  # noqa: S608
        "GROUP BY p.tender_id ORDER BY p.tender_id",
        (after_sale_id,),
    )
    bounds = await db.fetchall(
        "SELECT MIN(id) AS first_id, MAX(id) AS last_id FROM sales s WHERE s.id > ?",
        (after_sale_id,),
    )
    first_last = await db.fetchall(
        "SELECT number_text FROM sales WHERE id IN (?, ?) ORDER BY id",
        (bounds[0]["first_id"], bounds[0]["last_id"]),
    )

    def get(doc: str, field: str) -> int:
        return int(by[doc][field]) if doc in by else 0

    sales_total = get("receipt", "total") + get("invoice", "total")
    refunds_total = get("refund", "total")
    return DayTotals(
        # The span covers training documents too, so the next day starts after all of them.
        first_sale_id=bounds[0]["first_id"], last_sale_id=bounds[0]["last_id"],
        receipts=get("receipt", "n"), invoices=get("invoice", "n"), refunds=get("refund", "n"),
        sales_total=sales_total, refunds_total=refunds_total, net_total=sales_total + refunds_total,
        discount_total=sum(get(d, "discount") for d in ("receipt", "invoice", "refund")),
        tax_total=sum(get(d, "tax") for d in ("receipt", "invoice", "refund")),
        taxes=[RateTotal(name=t["name"], rate=t["rate"], base=int(t["base"]), amount=int(t["amount"])) for t in taxes],
        tenders={p["tender_id"]: int(p["amount"]) for p in pays},
        first_number=first_last[0]["number_text"] if first_last else None,
        last_number=first_last[-1]["number_text"] if first_last else None,
    )  # fmt: skip


def report_document(
    settings: StoreSettings, title: str, subtitle: list[str], totals: DayTotals
) -> ReceiptDocument:
    span = f"{totals.first_number or '-'} .. {totals.last_number or '-'}"
    blocks = printouts.header(settings, title, [*subtitle, span])
    blocks += printouts.rows(settings, [
        ("Receipts", str(totals.receipts)), ("Invoices", str(totals.invoices)), ("Refunds", str(totals.refunds)),
        ("Sales", totals.sales_total), ("Refunded", totals.refunds_total), ("Net", totals.net_total),
        ("Discounts", totals.discount_total), ("Tax", totals.tax_total),
    ])  # fmt: skip
    blocks += printouts.rows(
        settings, [(f"{t.name} {t.rate}% (base {t.base / 100:.2f})", t.amount) for t in totals.taxes]
    )
    blocks += printouts.rows(
        settings, [(f"Tender {tender}", amount) for tender, amount in totals.tenders.items()]
    )
    return printouts.document(settings, blocks)


class DayClose:
    """X reads and Z closes; see the module docstring."""

    def __init__(
        self, db: Database, jobs: PrintJobs, settings: StoreSettingsService, printers: frozenset[str],
        clock: Callable[[], datetime] = now, fiscal: Fiscalisation | None = None,
    ) -> None:  # fmt: skip
        self._fiscal = fiscal
        self._db = db
        self._jobs = jobs
        self._settings = settings
        self._printers = printers
        self._clock = clock

    async def x_report(self, *, actor: str, print_it: bool = True) -> XReport:
        settings = (await self._settings.get()).settings
        at = iso(self._clock())
        async with self._db.transaction() as tx:
            last = await _last_z(tx)
            totals = await day_totals(tx, last["last_sale_id"])
            await audit.record(
                tx, actor=actor, action="report.x", target=None, details={"net_total": totals.net_total}
            )
            job = None
            if print_it:
                doc = report_document(settings, "X REPORT", [f"after Z {last['number']}", at], totals)
                job = await printouts.queue_print(
                    tx, self._jobs, self._printers, settings, doc, key=f"x-{at}", actor=actor
                )
        return XReport(since_z=last["number"], at=at, totals=totals, print_job_id=job)

    async def z_report(self, *, actor: str, open_shifts_allowed: bool = False) -> ZReport:
        settings = (await self._settings.get()).settings
        at = self._clock()
        async with self._db.transaction(urgent=True) as tx:
            if not open_shifts_allowed:
                open_rows = await tx.fetchall(
                    "SELECT terminal_id FROM shifts WHERE state = 'open' ORDER BY terminal_id"
                )
                if open_rows:
                    terminals = [r["terminal_id"] for r in open_rows]
                    raise Conflict(
                        "shifts_open",
                        f"close the open shifts first: {', '.join(terminals)}",
                        details={"terminals": terminals},
                    )
            last = await _last_z(tx)
            totals = await day_totals(tx, last["last_sale_id"])
            number = last["number"] + 1
            grand_total = last["grand_total"] + totals.sales_total
            grand_refunds = last["grand_refunds"] + totals.refunds_total
            row = await tx.fetchone(
                "INSERT INTO z_reports (number, store_id, business_date, first_sale_id, last_sale_id, totals, grand_total, "
                "grand_refunds, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (number, settings.store_id, business_date(at, settings.timezone).isoformat(), totals.first_sale_id,
                 totals.last_sale_id if totals.last_sale_id is not None else last["last_sale_id"],
                 msgspec.json.encode(totals).decode(), grand_total, grand_refunds, iso(at), actor),
            )  # fmt: skip
            assert row is not None
            report = ZReport(id=row["id"], number=number, business_date=business_date(at, settings.timezone).isoformat(),
                             totals=totals, grand_total=grand_total, grand_refunds=grand_refunds, created_at=iso(at),
                             created_by=actor)  # fmt: skip
            await audit.record(
                tx,
                actor=actor,
                action="report.z",
                target=f"z:{number}",
                details={"net_total": totals.net_total},
            )
            await outbox.append(tx, "z_report.created", report)
            if self._fiscal is not None and self._fiscal.enabled:
                # The device's own Z runs behind every receipt queued before it, exactly once.
                await enqueue_z(tx, number, self._fiscal.settings.device)
                self._fiscal.queued(tx)
            doc = report_document(settings, f"Z REPORT {number}", [report.business_date, iso(at),
                                  f"Grand total {grand_total / 100:.2f}"], totals)  # fmt: skip
            job = await printouts.queue_print(
                tx, self._jobs, self._printers, settings, doc, key=f"z-{number}", actor=actor
            )
        return msgspec.structs.replace(report, print_job_id=job)

    async def z_reports(self, *, limit: int = 50) -> list[ZReport]:
        rows = await self._db.fetchall("SELECT * FROM z_reports ORDER BY number DESC LIMIT ?", (limit,))
        return [_z(row) for row in rows]

    async def z_by_number(self, number: int) -> ZReport:
        row = await self._db.fetchone("SELECT * FROM z_reports WHERE number = ?", (number,))
        if row is None:
            raise NotFound("z_report_not_found", f"no Z report {number}")
        return _z(row)


def _z(row: Any) -> ZReport:
    return ZReport(
        id=row["id"], number=row["number"], business_date=row["business_date"],
        totals=msgspec.json.decode(row["totals"], type=DayTotals), grand_total=row["grand_total"],
        grand_refunds=row["grand_refunds"], created_at=row["created_at"], created_by=row["created_by"],
    )  # fmt: skip
