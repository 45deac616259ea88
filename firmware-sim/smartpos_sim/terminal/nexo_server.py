"""The simulated terminal's nexo face: the Terminal API's JSON over HTTP (``POST /nexo``).

Requests are decoded with :mod:`protocols.payments.nexo`; a body that is not a nexo request
is answered ``400`` with the reason. The terminal runs one payment at a time (another one is
answered ``Failure``/``Busy``) and remembers every request's answer under its SaleID and
ServiceID, which is what a ``TransactionStatusRequest`` asks about: ``InProgress`` while it
runs, the repeated response once it ended (approved, declined or aborted), ``NotFound`` for a
ServiceID it never saw. An ``AbortRequest`` pointing at the running payment aborts its card
step (too late once the host has it; never heard by a hung card reader).

The synchronous Terminal API has no intermediate statuses, so the card step's screens are
only timing here. ``drop`` books the payment and closes the connection without an answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from protocols.payments import nexo
from protocols.payments import nexo_bodies as nb
from protocols.payments.errors import NexoError
from smartpos_sim.terminal.engine import Kind, TerminalEngine, Transaction


@dataclass(slots=True)
class Attempt:
    """A payment request being served."""

    key: tuple[str, str]  # (SaleID, ServiceID)
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)


class NexoTerminalSim:
    """Serves nexo requests against the shared :class:`TerminalEngine`."""

    def __init__(self, engine: TerminalEngine, poi_id: str = "SIMPOI01") -> None:
        self.engine = engine
        self.poi_id = poi_id
        self.current: Attempt | None = None
        self.payments: dict[tuple[str, str], nb.PaymentResponse] = {}
        self.reversals: dict[tuple[str, str], nb.ReversalResponse] = {}

    def app(self) -> web.Application:
        application = web.Application(client_max_size=1 << 20)
        application.router.add_post("/nexo", self.handle)
        return application

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            message = nexo.decode_request(await request.read())
        except NexoError as exc:
            return web.Response(status=400, text=str(exc))
        header = message.MessageHeader
        reply = nexo.response_header(header)
        try:
            if message.PaymentRequest is not None:
                return await self._payment(request, header, message.PaymentRequest)
            if message.AbortRequest is not None:
                self._abort(header, message.AbortRequest)
                return web.Response(status=200)
            if message.TransactionStatusRequest is not None:
                body = self._status(header, message.TransactionStatusRequest)
                return _json(nexo.SaleToPOIResponse(reply, TransactionStatusResponse=body))
            if message.ReversalRequest is not None:
                reversal = self._reverse(header, message.ReversalRequest)
                return _json(nexo.SaleToPOIResponse(reply, ReversalResponse=reversal))
            if message.ReconciliationRequest is not None:
                return _json(nexo.SaleToPOIResponse(reply, ReconciliationResponse=self._reconcile()))
            status = nb.POIStatus("Busy" if self.current is not None else "OK")
            diagnosis = nb.DiagnosisResponse(nb.Response("Success"), status)
            return _json(nexo.SaleToPOIResponse(reply, DiagnosisResponse=diagnosis))
        except NexoError as exc:
            return web.Response(status=400, text=str(exc))

    # -- payments ---------------------------------------------------------------------------
    async def _payment(
        self, request: web.Request, header: nexo.MessageHeader, body: nb.PaymentRequest
    ) -> web.StreamResponse:
        reply = nexo.response_header(header)
        if self.current is not None or header.ServiceID is None:
            busy = nb.PaymentResponse(nb.Response("Failure", "Busy", "another transaction is in progress"))
            return _json(nexo.SaleToPOIResponse(reply, PaymentResponse=busy))
        amounts = body.PaymentTransaction.AmountsReq
        amount = nexo.to_minor(amounts.RequestedAmount, amounts.Currency)
        kind: Kind = (
            "refund"
            if body.PaymentData is not None and body.PaymentData.PaymentType == "Refund"
            else "payment"
        )
        attempt = Attempt((header.SaleID, header.ServiceID))
        self.current = attempt
        watcher = asyncio.get_running_loop().create_task(_watch(request, attempt.gone))
        try:
            result = await self.engine.card_step(
                kind, amount, 978, _no_status, attempt.abort, attempt.gone, reference=header.ServiceID
            )
        finally:
            watcher.cancel()
            self.current = None
        if result.transaction is None:
            condition: nb.ErrorCondition = "Aborted" if attempt.abort.is_set() else "Cancel"
            response = nb.PaymentResponse(
                nb.Response("Failure", condition, "transaction aborted"), body.SaleData
            )
        else:
            response = _payment_response(result.transaction, amounts.Currency, body.SaleData)
        self.payments[attempt.key] = response
        if result.outcome == "dropped":
            if request.transport is not None:
                request.transport.abort()  # booked; only the answer is lost
            return web.Response(status=204)
        return _json(nexo.SaleToPOIResponse(reply, PaymentResponse=response))

    def _abort(self, header: nexo.MessageHeader, body: nb.AbortRequest) -> None:
        current, reference = self.current, body.MessageReference
        sale_id = reference.SaleID or header.SaleID
        if current is not None and current.key == (sale_id, reference.ServiceID) and not self.engine.hanging:
            current.abort.set()

    def _status(
        self, header: nexo.MessageHeader, body: nb.TransactionStatusRequest
    ) -> nb.TransactionStatusResponse:
        reference = body.MessageReference
        if reference is None or reference.ServiceID is None:
            return nb.TransactionStatusResponse(
                nb.Response("Failure", "NotFound", "MessageReference required")
            )
        key = (reference.SaleID or header.SaleID, reference.ServiceID)
        if self.current is not None and self.current.key == key:
            return nb.TransactionStatusResponse(nb.Response("Failure", "InProgress"), reference)
        repeated: nb.RepeatedResponseMessageBody | None = None
        if reference.MessageCategory == "Payment" and key in self.payments:
            repeated = nb.RepeatedResponseMessageBody(PaymentResponse=self.payments[key])
        elif reference.MessageCategory == "Reversal" and key in self.reversals:
            repeated = nb.RepeatedResponseMessageBody(ReversalResponse=self.reversals[key])
        if repeated is None:
            return nb.TransactionStatusResponse(nb.Response("Failure", "NotFound"), reference)
        return nb.TransactionStatusResponse(
            nb.Response("Success"), reference, nb.RepeatedMessageResponse(repeated)
        )

    def _reverse(self, header: nexo.MessageHeader, body: nb.ReversalRequest) -> nb.ReversalResponse:
        wanted = body.OriginalPOITransaction.POITransactionID.TransactionID
        original = next((t for t in self.engine.journal if t.poi_transaction_id == wanted), None)
        if original is None or original.kind != "payment" or not original.approved:
            response = nb.ReversalResponse(nb.Response("Failure", "NotAllowed", "no such approved payment"))
        elif original.reversed:
            response = nb.ReversalResponse(nb.Response("Failure", "NotAllowed", "already reversed"))
        else:
            original.reversed = True
            booked = self.engine.book(
                "reversal",
                original.amount,
                original.currency,
                approved=True,
                original_receipt=original.receipt_number,
            )
            response = nb.ReversalResponse(
                nb.Response("Success"),
                nb.POIData(nb.TransactionIdentification(booked.poi_transaction_id, booked.timestamp)),
                nexo.to_major(booked.amount, "EUR"),
                [_receipt(booked)],
            )
        if header.ServiceID is not None:
            self.reversals[(header.SaleID, header.ServiceID)] = response
        return response

    def _reconcile(self) -> nb.ReconciliationResponse:
        closing = self.engine.close_day()
        total = nb.PaymentTotal("Debit", closing.count, nexo.to_major(closing.amount, "EUR"))
        return nb.ReconciliationResponse(
            nb.Response("Success"), TransactionTotals=[nb.TransactionTotals("Card", [total])]
        )


async def _no_status(code: int) -> None:
    """The synchronous Terminal API reports no intermediate statuses."""


async def _watch(request: web.Request, gone: asyncio.Event) -> None:
    """Set ``gone`` when the client's connection closes (the ECR gave up on the request)."""
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            gone.set()
            return
        await asyncio.sleep(0.1)


def _receipt(transaction: Transaction) -> nb.PaymentReceipt:
    lines = [nb.OutputText(line) for line in transaction.lines]
    return nb.PaymentReceipt("CustomerReceipt", nb.OutputContent(lines))


def _payment_response(transaction: Transaction, currency: str, sale: nb.SaleData) -> nb.PaymentResponse:
    poi = nb.POIData(nb.TransactionIdentification(transaction.poi_transaction_id, transaction.timestamp))
    result = nb.PaymentResult(
        nb.AmountsResp(nexo.to_major(transaction.amount, currency), currency),
        nb.PaymentInstrumentData("Card", nb.CardData(transaction.masked_pan, transaction.card_name)),
        nb.PaymentAcquirerData(ApprovalCode=transaction.trace),
    )
    if transaction.approved:
        response = nb.Response("Success")
    else:
        response = nb.Response("Failure", "Refusal", f"refusalReason={transaction.result_code:02X}")
    return nb.PaymentResponse(response, sale, poi, result, [_receipt(transaction)])


def _json(message: nexo.SaleToPOIResponse) -> web.Response:
    return web.Response(body=nexo.encode(message), content_type="application/json")


async def serve_nexo(sim: NexoTerminalSim, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start the HTTP server on ``host:port`` (0 picks one); returns the runner and the port.

    A request held by a hung card step must not hold up SIGTERM for aiohttp's default minute.
    """
    runner = web.AppRunner(sim.app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, int(runner.addresses[0][1])
