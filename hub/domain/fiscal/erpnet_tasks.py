"""The ErpNet.FP-compatible API's tasks: durable fiscal documents, answered once they are final.

ErpNet.FP keeps its tasks in memory (a restart forgets them, and a client asking about one
hears "unknown") in one queue for every printer. Here a task is a ``fiscal_documents`` row with
its ``task_id``, queued per device behind the store's own sales and finished by the device's
worker across restarts. The same taskId sent again finds its row and never queues a second
document; so does a sale sent again with the same unique sale number (the state's key of a
sale), which is how a client that sends no taskId is kept from printing a receipt twice after
a lost answer. Either one reused for a *different* request is refused (E109).

A caller waits for a task's answer by listening for its ``fiscal.task`` events (written by the
worker in the same transaction as the row's change), with a slow re-read of the row as a net.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.clock import now_iso
from hub.domain.events import EventLog, Subscription
from hub.domain.fiscal.documents import DocumentKind, enqueue_task
from hub.domain.fiscal.erpnet import (
    Answer,
    ErpNetError,
    Message,
    ReceiptBody,
    ReversalBody,
    TransferBody,
    cash_request,
    check_task_id,
    decode,
    receipt_request,
    refused,
)
from protocols.fiscal.receipt import FiscalReceipt

Action = Literal["receipt", "reversalreceipt", "xreport", "zreport", "deposit", "withdraw", "duplicate"]
TaskStatus = Literal["unknown", "enqueued", "running", "finished"]
KINDS: dict[Action, DocumentKind] = {
    "receipt": "sale", "reversalreceipt": "refund", "xreport": "x_report", "zreport": "z_report",
    "deposit": "cash_in_out", "withdraw": "cash_in_out", "duplicate": "duplicate",
}  # fmt: skip
# Why a task failed (documents.error_code) as ErpNet's codes; E999 says "see the text": the
# device's own refusal, or ErpNet's "timeout before the task started".
_FAILURE_CODES = {"paper_out": "E301", "cover_open": "E302", "offline": "E101", "timeout": "E101",
                  "protocol_error": "E107", "busy": "E108"}  # fmt: skip
RECHECK_S = 1.0  # the row is re-read at least this often while waiting, events or not


class TaskInfo(msgspec.Struct, kw_only=True, rename="camel"):
    """``/printers/taskinfo``: the result is ``{}`` until the task is finished, as in ErpNet.FP."""

    task_status: TaskStatus
    result: Answer | dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.task_status in ("finished", "unknown")


class TaskId(msgspec.Struct, rename="camel"):
    """The answer when a task is not finished within the caller's ``asyncTimeout``."""

    task_id: str


def _local_time(iso: str) -> str:
    """The hub's local wall time of ``iso``, as ErpNet gives times (no zone, seconds)."""
    if not iso:
        return ""
    return (
        dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
        .astimezone()
        .replace(tzinfo=None)
        .isoformat(timespec="seconds")
    )


def answer_of(row: Any) -> Answer:
    """A finished task's answer, from its row."""
    if row["state"] == "failed":
        return refused(_FAILURE_CODES.get(row["error_code"] or "", "E999"), row["error"] or "failed")
    kind = row["kind"]
    if kind in ("sale", "refund"):
        receipt = msgspec.json.decode(row["request"], type=FiscalReceipt)
        result = msgspec.json.decode(row["result"] or "{}")
        return Answer(
            ok=True,
            messages=[],
            receipt_number=row["fiscal_number"],
            receipt_date_time=_local_time(str(result.get("fiscalised_at", ""))),
            receipt_amount=Decimal(receipt.total).scaleb(-receipt.currency_exponent),
            fiscal_memory_serial_number=row["device_serial"] or "",
        )
    if kind in ("x_report", "z_report"):
        name = "X" if kind == "x_report" else "Z"
        return Answer(ok=True, messages=[Message(type="info", text=f"{name} report {row['fiscal_number']}")])
    return Answer(ok=True, messages=[])


class ErpNetTasks:
    """Queues ErpNet tasks as fiscal documents and reports on them by taskId."""

    def __init__(
        self, db: Database, events: EventLog, *, wake: Callable[[str], None], tax_rates: Mapping[str, str]
    ) -> None:
        self._db = db
        self._events = events
        # Wakes the device's worker once the task is committed.
        self._wake = wake
        # Tax group letter -> rate, the inverse of [fiscal] tax_groups, for the record only.
        self._rates = dict(tax_rates)

    def _request(
        self, action: Action, raw: bytes, task_id: str, exponent: int
    ) -> tuple[bytes, FiscalReceipt | dict[str, Any]]:
        """The canonical body (for the fingerprint) and what the queue stores."""
        if action in ("receipt", "reversalreceipt"):
            body = decode(raw, ReversalBody if action == "reversalreceipt" else ReceiptBody)
            # A stable key for signing services and our journal: the taskId, hashed to fit.
            request_id = hashlib.sha256(task_id.encode()).hexdigest()[:32]
            receipt = receipt_request(body, request_id=request_id, exponent=exponent, rates=self._rates,
                                      at=now_iso())  # fmt: skip
            return msgspec.json.encode(body), receipt
        if action in ("deposit", "withdraw"):
            transfer = decode(raw, TransferBody)
            return msgspec.json.encode(transfer), cash_request(transfer, exponent=exponent,
                                                               withdraw=action == "withdraw")  # fmt: skip
        # Reports and duplicates take no parameters (ErpNet's credentials are not used).
        return b"", {"report": "X" if action == "xreport" else "Z"} if action.endswith("report") else {}

    async def submit(
        self,
        action: Action,
        device_id: str,
        raw: bytes,
        *,
        task_id: str | None = None,
        exponent: int = 2,
        not_after: str | None = None,
    ) -> str:
        """Queue a task (or find the one this request repeats); its taskId. Raises ErpNetError."""
        task_id = check_task_id(task_id) if task_id else uuid.uuid4().hex
        canonical, request = self._request(action, raw, task_id, exponent)
        fingerprint = hashlib.sha256(b"\n".join([action.encode(), device_id.encode(), canonical])).hexdigest()
        sale_number = (
            request.unique_sale_number
            if isinstance(request, FiscalReceipt) and request.kind == "sale"
            else ""
        )
        async with self._db.transaction() as tx:
            existing = await self._existing(tx, task_id, sale_number, fingerprint)
            if existing is not None:
                return existing
            await enqueue_task(tx, task_id=task_id, device_id=device_id, kind=KINDS[action], request=request,
                               request_hash=fingerprint, not_after=not_after)  # fmt: skip
            tx.after_commit(lambda: self._wake(device_id))
        return task_id

    @staticmethod
    async def _existing(tx: Transaction, task_id: str, sale_number: str, fingerprint: str) -> str | None:
        row = await tx.fetchone(
            "SELECT task_id, request_hash FROM fiscal_documents WHERE task_id = ?", (task_id,)
        )
        if row is not None:
            if row["request_hash"] != fingerprint:
                raise ErpNetError(
                    "E109", f'taskId "{task_id}" is already used for another request', status=409
                )
            return task_id
        if not sale_number:
            return None
        # A sale already sent under another taskId (or none) that has not failed: the same
        # request is its resend; another one with the same number would be a second sale.
        row = await tx.fetchone(
            "SELECT task_id, request_hash FROM fiscal_documents WHERE task_id IS NOT NULL AND kind = 'sale' "
            "AND state != 'failed' AND json_extract(request, '$.unique_sale_number') = ? ORDER BY id LIMIT 1",
            (sale_number,),
        )
        if row is None:
            return None
        if row["request_hash"] != fingerprint:
            raise ErpNetError("E109", f"uniqueSaleNumber {sale_number} was already sent as task "
                                      f"{row['task_id']}", status=409)  # fmt: skip
        return str(row["task_id"])

    async def info(self, task_id: str) -> TaskInfo:
        """What is known of ``task_id`` (``unknown`` when no task has it)."""
        row = await self._db.fetchone(
            "SELECT kind, state, attempts, fiscal_number, device_serial, request, result, error, error_code "
            "FROM fiscal_documents WHERE task_id = ?",
            (task_id,),
        )
        if row is None:
            return TaskInfo(task_status="unknown", result={})
        if row["state"] == "pending":
            # Taken by the worker at least once: running (or held until the device is ready).
            return TaskInfo(task_status="running" if row["attempts"] else "enqueued", result={})
        return TaskInfo(task_status="finished", result=answer_of(row))

    async def wait(self, task_id: str, timeout_s: float) -> TaskInfo:
        """The task's info once it is finished, or as it stands after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        # Subscribed before the first read, so a change between the two cannot be missed.
        subscription = self._events.subscribe()
        try:
            while True:
                info = await self.info(task_id)
                remaining = deadline - loop.time()
                if info.finished or remaining <= 0:
                    return info
                await _next_change(subscription, task_id, min(remaining, RECHECK_S))
        finally:
            self._events.unsubscribe(subscription)


async def _next_change(subscription: Subscription, task_id: str, timeout_s: float) -> None:
    """Return when ``task_id`` changed, or after ``timeout_s``."""
    if subscription.overflowed.is_set():
        # The feed fell behind and drops events: re-reading the row on a timer still works.
        await asyncio.sleep(timeout_s)
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while True:
                event = await subscription.queue.get()
                if event.type == "fiscal.task" and msgspec.json.decode(event.data).get("task_id") == task_id:
                    return
