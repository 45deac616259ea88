"""The task that has a store's receipts signed by its signing service (TaxCore, a TSE, RKSV).

It drains the ``fiscal_documents`` queued for the service in order, like a fiscal printer's
worker: a service that cannot be reached holds the document (still pending, retried with
backoff), a refusal fails it with the service's reason. Once signed, the receipt is printed
on the ordinary receipt printer with what the signature requires (journal, QR code); adapters
find an earlier signature by the receipt's request id, so a retry never signs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from drivers.errors import Declined, DeviceError
from drivers.signing.base import SigningAdapter
from hub.devices.backoff import Backoff
from hub.domain.fiscal.documents import FiscalDocument, FiscalDocuments
from protocols.fiscal.receipt import FiscalResult

log = logging.getLogger(__name__)

PrintSigned = Callable[[int, FiscalResult], Awaitable[object]]


class SigningWorker:
    """Signs the documents queued under ``queue_id`` (the fiscal mode's name)."""

    def __init__(self, queue_id: str, adapter: SigningAdapter, documents: FiscalDocuments,
                 print_signed: PrintSigned, *, poll_interval: float = 5.0) -> None:  # fmt: skip
        self.queue_id = queue_id
        self.adapter = adapter
        self._documents = documents
        self._print_signed = print_signed
        self._poll = poll_interval
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._retry = Backoff(initial=1.0, maximum=60.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"signing-{self.queue_id}")

    def wake(self, queue_id: str) -> None:
        if queue_id == self.queue_id:
            self._wakeup.set()

    async def stop(self, grace: float = 10.0) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self.adapter.close()

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                document = await self._documents.next_open(self.queue_id)
                if document is None:
                    await self._idle(self._poll)
                elif not await self._sign(document):
                    await self._idle(self._retry.next())
            except Exception:
                log.exception("signing worker error", extra={"queue": self.queue_id})
                await self._idle(5.0)

    async def _sign(self, document: FiscalDocument) -> bool:
        """Sign one document; False when it must wait."""
        await self._documents.attempt(document)
        if document.receipt is None:
            await self._documents.failed(
                document, f"{self.queue_id} signs receipts only, not {document.kind}"
            )
            return True
        try:
            result = await self.adapter.sign(document.receipt)
        except Declined as exc:
            log.error("signing service refused a receipt", extra={"queue": self.queue_id, "sale": document.sale_id,
                                                                  "error": str(exc)})  # fmt: skip
            await self._documents.failed(document, str(exc))
            return True
        except DeviceError as exc:
            log.warning("signing service unavailable", extra={"queue": self.queue_id, "error": str(exc)})
            await self._documents.held(document, "offline")
            return False
        # Printed before the document is marked done: a crash in between signs again (the
        # adapter finds the earlier signature) and prints again under the same idempotency
        # key, which returns the job already queued. The other order could lose the receipt.
        if document.sale_id is not None:
            await self._print_signed(document.sale_id, result)
        await self._documents.fiscalised(document, result)
        self._retry.reset()
        return True
