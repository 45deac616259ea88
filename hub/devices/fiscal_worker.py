"""The one task that owns a fiscal printer: it fiscalises the queued documents in order.

A document is taken from SQLite, its attempt counted, and handed to the driver with its journal
(marks committed before each step they guard), so a lost reply, a dropped link or a killed hub
all end the same way: the next attempt reads the marks and the device's transaction status and
resumes, and a receipt is never issued twice.

What stops a document decides what happens to it:
- paper out, cover open: held (still pending) with the reason; retried when the device is
  ready again, without dropping the link;
- offline, timeout, nonsense from the device: held as ``offline``; the link is closed and
  reopened with backoff;
- the device refused the receipt (``Declined``): failed, with the device's reason, for a
  person to look at; the next document goes on.

Tasks of the ErpNet.FP-compatible API are documents too (receipts, X/Z reports, cash in/out,
duplicates). Their callers were promised ErpNet's all-or-nothing receipt, so paper out or an
open cover *fails* such a receipt (the next receipt cancels what the device has open) unless
its close was already sent, in which case it is held and finished like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from drivers.base import DeviceHealth
from drivers.errors import CoverOpen, Declined, DeviceError, PaperOut
from drivers.fiscal.base import FiscalPrinterDriver
from hub.devices.backoff import Backoff
from hub.devices.link_workers import HealthSink, LinkWorker
from hub.devices.registry import DeviceSpec
from hub.domain.clock import now_iso
from hub.domain.fiscal.documents import FiscalDocument, FiscalDocuments

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Journal:
    """The document's marks, written through to SQLite."""

    def __init__(self, documents: FiscalDocuments, document: FiscalDocument) -> None:
        self._documents = documents
        self._document = document
        self._marks: dict[str, Any] = dict(document.marks)

    @property
    def marks(self) -> dict[str, Any]:
        return self._marks

    async def mark(self, **values: Any) -> None:
        self._marks.update(values)
        await self._documents.mark(self._document.id, self._marks)


class FiscalWorker(LinkWorker):
    """Drains one fiscal printer's queue of documents."""

    def __init__(self, spec: DeviceSpec, documents: FiscalDocuments, on_health: HealthSink) -> None:
        super().__init__(spec, on_health)
        self.driver: FiscalPrinterDriver = spec.build()  # type: ignore[assignment]
        self._documents = documents
        self._retry = Backoff(initial=1.0, maximum=30.0)

    async def _open(self) -> None:
        await self.driver.connect()

    async def _close(self) -> None:
        await self.driver.close()

    async def _serve(self) -> None:
        poll = float(self.spec.options.poll_interval)
        while not self._stopping:
            document = await self._documents.next_open(self.device_id)
            if document is None:
                await self._idle(poll)
                if not self._stopping:
                    await self._set_health(await self.driver.health())
                continue
            if not await self._process(document):
                await self._idle(self._retry.next())

    async def _process(self, document: FiscalDocument) -> bool:
        """Work on one document; False when it must wait (held)."""
        if await self._expired(document):
            return True
        await self._documents.attempt(document)
        journal = _Journal(self._documents, document)
        try:
            if document.receipt is not None:
                result = await self.driver.fiscalise(document.receipt, journal)
                await self._documents.fiscalised(document, result)
                log.info("fiscalised", extra={"device": self.device_id, "sale": document.sale_id,
                                              "task": document.task_id,
                                              "fiscal_number": result.fiscal_number})  # fmt: skip
            else:
                await self._operation(document, journal)
        except (PaperOut, CoverOpen) as exc:
            if document.task_id is not None and not journal.marks.get("close_sent"):
                # An ErpNet caller is answered "not printed" and may send the receipt again, so
                # this one must never print later: it fails now. Nothing of it is fiscal yet.
                await self._documents.failed(document, str(exc), code=exc.code)
                await self._set_health(DeviceHealth(state="error", conditions=(exc.code,), detail=str(exc)))
                return True
            await self._documents.held(document, exc.code)
            await self._set_health(DeviceHealth(state="error", conditions=(exc.code,), detail=str(exc)))
            return False
        except Declined as exc:
            log.error("fiscal device refused a document",
                      extra={"device": self.device_id, "sale": document.sale_id, "task": document.task_id,
                             "error": str(exc)})  # fmt: skip
            await self._documents.failed(document, str(exc))
            return True
        except DeviceError as exc:
            # The link is gone or made no sense: hold, and let the base class reconnect.
            await self._documents.held(document, "offline")
            raise exc from None
        self._retry.reset()
        if self.health.state != "online":
            await self._set_health(DeviceHealth(state="online"))
        return True

    async def _expired(self, document: FiscalDocument) -> bool:
        """An ErpNet task whose caller set a deadline (``timeout``) never starts after it."""
        if document.not_after is None or document.attempts or now_iso() <= document.not_after:
            return False
        await self._documents.failed(document, "the task was not started before the caller's timeout",
                                     code="expired")  # fmt: skip
        return True

    async def _operation(self, document: FiscalDocument, journal: _Journal) -> None:
        """A report, cash in/out or duplicate (the hub's own Z, or an ErpNet task)."""
        if document.kind == "z_report":
            report = await self._once(journal, "z_sent", "Z report", lambda: self.driver.report("Z"))
            await self._documents.report_done(
                document, report.number, {"totals": report.totals, "storno": report.storno}
            )
        elif document.kind == "x_report":
            # An X report only reads the day's registers: one cut short may simply run again.
            report = await self.driver.report("X")
            await self._documents.report_done(
                document, report.number, {"totals": report.totals, "storno": report.storno}
            )
        elif document.kind == "cash_in_out":
            amount = document.amount
            await self._once(journal, "sent", "cash in/out", lambda: self.driver.cash_in_out(amount))
            await self._documents.operation_done(document, {"amount": amount})
        else:
            # A duplicate may be asked again after a lost answer: devices print one copy per
            # receipt, so at worst the device answers that it already printed it.
            await self.driver.duplicate()
            await self._documents.operation_done(document, {})

    async def _once(
        self, journal: _Journal, mark: str, what: str, operation: Callable[[], Awaitable[T]]
    ) -> T:
        """Send an operation that must never run twice (a Z report, cash in/out) at most once."""
        if journal.marks.get(mark):
            # One that may have run cannot be run again to find out: a person checks the device.
            raise Declined(
                f"the device's {what} was sent before the hub stopped and its answer was lost; "
                f"check the device's last {what}"
            )
        await journal.mark(**{mark: True})
        try:
            return await operation()
        except (PaperOut, CoverOpen, Declined):
            # The device answered and refused: it did not run, so a later attempt may send it.
            await journal.mark(**{mark: False})
            raise
