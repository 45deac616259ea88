"""Fiscal documents: the durable queue between a completed sale and its fiscal receipt.

``pending`` until the device (or signing service) has fiscalised it, then ``fiscalised`` with
the fiscal number, or ``failed`` with the device's reason when the device refused it for good.
A pending document may be *held* (paper out, cover open, device offline): it stays pending
and the worker resumes it by itself. The ``marks`` are the driver's journal for the document,
written before the step they guard (see :mod:`drivers.fiscal.base`).

Tasks of the ErpNet.FP-compatible API (:mod:`hub.domain.fiscal.erpnet_tasks`) are documents
too, with a ``task_id``: their changes are ``fiscal.task`` events instead of ``sale.fiscal``.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.clock import now_iso
from hub.domain.events import EventLog
from protocols.fiscal.receipt import FiscalReceipt, FiscalResult

FiscalState = Literal["pending", "fiscalised", "failed"]
DocumentKind = Literal["sale", "refund", "z_report", "x_report", "cash_in_out", "duplicate"]
RECEIPT_KINDS: frozenset[str] = frozenset({"sale", "refund"})


class FiscalView(msgspec.Struct, frozen=True, kw_only=True):
    """What the POS sees of a sale's fiscalisation."""

    state: FiscalState
    device_id: str
    fiscal_number: str | None = None
    device_serial: str | None = None
    qr_data: str | None = None
    held_reason: str | None = None
    error: str | None = None
    attempts: int = 0


class FiscalDocument(msgspec.Struct, frozen=True, kw_only=True):
    """One queued piece of fiscal work: a receipt (sale, refund) or a device operation."""

    id: int
    sale_id: int | None
    kind: DocumentKind
    device_id: str
    state: FiscalState
    receipt: FiscalReceipt | None
    z_number: int | None
    marks: dict[str, Any]
    attempts: int
    task_id: str | None = None  # set for a task of the ErpNet.FP-compatible API
    amount: int = 0  # cash_in_out: cash put in (> 0) or taken out (< 0), minor units
    not_after: str | None = None  # a task not started by then fails instead (ISO, UTC)


_COLUMNS = "id, sale_id, kind, device_id, state, request, z_number, marks, attempts, task_id, not_after"


def _document(row: Any) -> FiscalDocument:
    kind = row["kind"]
    receipt, amount = None, 0
    if kind in RECEIPT_KINDS:
        receipt = msgspec.json.decode(row["request"], type=FiscalReceipt)
    elif kind == "cash_in_out":
        amount = int(msgspec.json.decode(row["request"])["amount"])
    return FiscalDocument(
        id=row["id"],
        sale_id=row["sale_id"],
        kind=kind,
        device_id=row["device_id"],
        state=row["state"],
        receipt=receipt,
        z_number=row["z_number"],
        marks=msgspec.json.decode(row["marks"]),
        attempts=row["attempts"],
        task_id=row["task_id"],
        amount=amount,
        not_after=row["not_after"],
    )


async def enqueue(tx: Transaction, sale_id: int, device_id: str, receipt: FiscalReceipt) -> FiscalView:
    """Queue the fiscal receipt of a sale inside the sale's own transaction."""
    at = now_iso()
    await tx.execute(
        "INSERT INTO fiscal_documents (sale_id, kind, device_id, request, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (sale_id, receipt.kind, device_id, msgspec.json.encode(receipt).decode(), at, at),
    )
    return FiscalView(state="pending", device_id=device_id)


async def enqueue_z(tx: Transaction, z_number: int, device_id: str) -> None:
    """Queue the device's Z report behind every receipt already queued (the hub's Z is ``z_number``)."""
    at = now_iso()
    await tx.execute(
        "INSERT INTO fiscal_documents (kind, device_id, request, z_number, created_at, updated_at) "
        "VALUES ('z_report', ?, ?, ?, ?, ?)",
        (device_id, msgspec.json.encode({"report": "Z", "z_number": z_number}).decode(), z_number, at, at),
    )


async def enqueue_task(
    tx: Transaction,
    *,
    task_id: str,
    device_id: str,
    kind: DocumentKind,
    request: FiscalReceipt | dict[str, Any],
    request_hash: str,
    not_after: str | None = None,
) -> None:
    """Queue a task of the ErpNet.FP-compatible API behind whatever the device already has.

    ``request`` is the receipt (sale, refund) or the operation's parameters (``{"amount": n}``
    for cash in/out); the unique index on ``task_id`` makes a second insert impossible.
    """
    at = now_iso()
    await tx.execute(
        "INSERT INTO fiscal_documents (kind, device_id, request, task_id, request_hash, not_after, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, device_id, msgspec.json.encode(request).decode(), task_id, request_hash, not_after, at, at),
    )


async def view_for_sale(db: Database | Transaction, sale_id: int) -> FiscalView | None:
    row = await db.fetchone(
        "SELECT state, device_id, fiscal_number, device_serial, qr_data, held_reason, error, attempts "
        "FROM fiscal_documents WHERE sale_id = ?",
        (sale_id,),
    )
    if row is None:
        return None
    return FiscalView(
        state=row["state"], device_id=row["device_id"], fiscal_number=row["fiscal_number"],
        device_serial=row["device_serial"], qr_data=row["qr_data"], held_reason=row["held_reason"],
        error=row["error"], attempts=row["attempts"],
    )  # fmt: skip


class FiscalDocuments:
    """The device worker's side of the queue; every change is a ``sale.fiscal`` event."""

    def __init__(self, db: Database, events: EventLog) -> None:
        self._db = db
        self._events = events

    async def next_open(self, device_id: str) -> FiscalDocument | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM fiscal_documents WHERE device_id = ? AND state = 'pending' ORDER BY id LIMIT 1",  # noqa: S608 - a constant column list
            (device_id,),
        )
        return None if row is None else _document(row)

    async def pending_count(self, device_id: str) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM fiscal_documents WHERE device_id = ? AND state = 'pending'", (device_id,)
        )
        return int(row[0]) if row else 0

    async def mark(self, document_id: int, marks: dict[str, Any]) -> None:
        """Store the journal (committed before the caller takes the step it guards)."""
        async with self._db.transaction(urgent=True) as tx:
            await tx.execute(
                "UPDATE fiscal_documents SET marks = ?, updated_at = ? WHERE id = ?",
                (msgspec.json.encode(marks).decode(), now_iso(), document_id),
            )

    async def attempt(self, document: FiscalDocument) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE fiscal_documents SET attempts = attempts + 1, updated_at = ? WHERE id = ?",
                (now_iso(), document.id),
            )

    async def report_done(self, document: FiscalDocument, number: int, result: dict[str, Any]) -> None:
        """The device ran the X or Z report of ``document``."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE fiscal_documents SET state = 'fiscalised', held_reason = NULL, fiscal_number = ?, "
                "result = ?, updated_at = ? WHERE id = ?",
                (str(number), msgspec.json.encode(result).decode(), now_iso(), document.id),
            )
            if document.task_id is not None:
                await self._event(tx, document, "fiscalised", fiscal_number=str(number))
            else:
                await self._events.append(tx, "fiscal.z_report", {"z_number": document.z_number,
                                                                   "device_id": document.device_id,
                                                                   "device_report": number})  # fmt: skip

    async def operation_done(self, document: FiscalDocument, result: dict[str, Any]) -> None:
        """The device did the cash in/out or duplicate of ``document``; ``result`` is what it said."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE fiscal_documents SET state = 'fiscalised', held_reason = NULL, result = ?, "
                "updated_at = ? WHERE id = ?",
                (msgspec.json.encode(result).decode(), now_iso(), document.id),
            )
            await self._event(tx, document, "fiscalised")

    async def fiscalised(self, document: FiscalDocument, result: FiscalResult) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE fiscal_documents SET state = 'fiscalised', held_reason = NULL, error = NULL, "
                "fiscal_number = ?, device_serial = ?, qr_data = ?, result = ?, updated_at = ? WHERE id = ?",
                (result.fiscal_number, result.device_serial, result.qr_data or None,
                 msgspec.json.encode(result).decode(), now_iso(), document.id),
            )  # fmt: skip
            await self._event(tx, document, "fiscalised", fiscal_number=result.fiscal_number)

    async def held(self, document: FiscalDocument, reason: str) -> None:
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE fiscal_documents SET held_reason = ?, updated_at = ? "
                "WHERE id = ? AND state = 'pending' AND held_reason IS NOT ?",
                (reason, now_iso(), document.id, reason),
            )
            if cursor.rowcount:
                await self._event(tx, document, "pending", held_reason=reason)

    async def failed(self, document: FiscalDocument, error: str, *, code: str = "declined") -> None:
        """Final: ``error`` is the device's (or the hub's) reason, ``code`` its kind (paper_out ...)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE fiscal_documents SET state = 'failed', error = ?, error_code = ?, updated_at = ? "
                "WHERE id = ?",
                (error, code, now_iso(), document.id),
            )
            await self._event(tx, document, "failed", error=error)

    async def _event(self, tx: Transaction, document: FiscalDocument, state: str, **extra: Any) -> None:
        if document.task_id is not None:
            # An ErpNet task: whoever waits for its answer listens for these (erpnet_tasks).
            await self._events.append(
                tx, "fiscal.task", {"task_id": document.task_id, "kind": document.kind, "state": state,
                                    "device_id": document.device_id, **extra},
            )  # fmt: skip
            return
        await self._events.append(
            tx, "sale.fiscal", {"sale_id": document.sale_id, "kind": document.kind, "state": state,
                                "device_id": document.device_id, **extra},
        )  # fmt: skip
