"""nexo terminals (Adyen Terminal API, local mode): Sale-to-POI JSON over HTTP(S).

The device's URL names the terminal (``tcp://192.168.1.40:8443``); the driver posts to
``<scheme>://host:port<path>`` (``https://192.168.1.40:8443/nexo`` on a real terminal, plain
``http`` for the simulator) with aiohttp instead of using the byte transport, because every
message is one HTTP request answered by one response. A payment's request stays open until
the card holder is done, so it is bounded by ``card_timeout``; then the driver sends an
``AbortRequest`` and waits ``abort_grace`` for the payment's own answer.

Recovery needs no journal: the payment's ServiceID is derived from the ECR's reference
(:func:`protocols.payments.nexo.service_id`), so ``last_result(reference)`` can always ask the
terminal with a ``TransactionStatusRequest``: ``NotFound`` -> ``None`` (never started),
``InProgress`` -> :class:`~drivers.errors.Busy` (ask again), otherwise the repeated response.
``pay`` asks the same question first, so a retried payment returns the first one's outcome
instead of charging the card twice. Local-mode message encryption (Adyen's NexoBlob and
SecurityTrailer) is not implemented: the terminal must accept unencrypted local requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import ssl
from decimal import Decimal
from typing import Annotated, Literal

import aiohttp
import msgspec

from drivers.base import DeviceHealth, PaymentOutcome, PaymentTerminalDriver, StatusCallback, TerminalStatus
from drivers.errors import Busy, Declined, DeviceError, DeviceOffline, ProtocolError, Timeout
from drivers.transports.base import Transport
from protocols.payments import nexo
from protocols.payments import nexo_bodies as nb
from protocols.payments.errors import NexoError

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_NOT_FOUND: Literal["not_found"] = "not_found"
_ABORTED = ("Aborted", "Cancel")


class NexoOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a nexo terminal. Timeouts in seconds."""

    scheme: Literal["https", "http"] = "https"
    path: Annotated[str, msgspec.Meta(pattern=r"^/[A-Za-z0-9/_.-]*$")] = "/nexo"
    sale_id: Id = "SMARTPOS"
    poi_id: str = ""  # the terminal's POIID (e.g. "V400m-346403161"); "" uses the device id
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "EUR"
    verify_tls: bool = True
    ca_file: str = ""  # the CA that signed the terminal's certificate
    connect_timeout: Seconds = 5.0
    request_timeout: Seconds = 15.0  # every request but a payment
    card_timeout: Seconds = 150.0  # a payment request's time for the card holder
    abort_grace: Seconds = 10.0


class NexoTerminal(PaymentTerminalDriver):
    """A terminal speaking the nexo Sale-to-POI protocol as JSON (Adyen Terminal API)."""

    name = "nexo"
    Options = NexoOptions
    options: NexoOptions

    def __init__(self, device_id: str, transport: Transport, options: NexoOptions) -> None:
        super().__init__(device_id, transport, options)
        url = transport.url
        self.endpoint = f"{options.scheme}://{url.host}:{url.port}{options.path}"
        self.poi_id = options.poi_id or device_id
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()  # one operation at a time; abort() goes around it
        self._current: str | None = None  # ServiceID of the payment in progress
        self._timestamps: dict[str, str] = {}  # POI transaction id -> its timestamp (for reversals)

    # -- HTTP -------------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext | bool:
        if self.options.scheme == "http":
            return False
        context = ssl.create_default_context(cafile=self.options.ca_file or None)
        if not self.options.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _post(self, message: nexo.SaleToPOIRequest, timeout: float) -> nexo.SaleToPOIResponse | None:
        """Post one request; its decoded response, or None for an empty body (abort)."""
        session = self._session
        if session is None or session.closed:
            raise DeviceOffline(f"{self.device_id}: not connected")
        headers = {"Content-Type": "application/json"}
        limits = aiohttp.ClientTimeout(total=timeout, connect=self.options.connect_timeout)
        try:
            async with session.post(
                self.endpoint, data=nexo.encode(message), headers=headers, timeout=limits
            ) as reply:
                body = await reply.read()
                if reply.status != 200:
                    text = body[:200].decode(errors="replace")
                    raise ProtocolError(f"{self.device_id}: HTTP {reply.status}: {text}", sent=True)
        except aiohttp.ClientConnectorError as exc:
            raise DeviceOffline(f"{self.device_id}: cannot reach {self.endpoint}: {exc}") from None
        except TimeoutError:
            raise Timeout(f"{self.device_id}: no answer within {timeout:.0f}s", sent=True) from None
        except aiohttp.ClientError as exc:
            raise DeviceOffline(f"{self.device_id}: connection lost: {exc!r}", sent=True) from None
        if not body.strip():
            return None
        try:
            return nexo.decode_response(body)
        except NexoError as exc:
            raise ProtocolError(f"{self.device_id}: {exc}", sent=True) from None

    async def _ask(
        self, message: nexo.SaleToPOIRequest, timeout: float | None = None
    ) -> nexo.SaleToPOIResponse:
        response = await self._post(message, timeout or self.options.request_timeout)
        if response is None:
            raise ProtocolError(
                f"{self.device_id}: empty answer to a {message.MessageHeader.MessageCategory} request"
            )
        return response

    def _ids(self) -> dict[str, str]:
        # A fresh ServiceID for requests that are not payments (a payment's comes from its reference).
        return {
            "sale_id": self.options.sale_id,
            "poi_id": self.poi_id,
            "service": os.urandom(5).hex().upper(),
        }

    # -- connection -------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._ssl()))
        await self.health()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()

    async def health(self) -> DeviceHealth:
        try:
            response = await self._ask(nexo.diagnosis_request(**self._ids()))
        except (Timeout, ProtocolError) as exc:
            raise DeviceOffline(f"{self.device_id}: no diagnosis answer: {exc}") from None
        body = response.DiagnosisResponse
        status = body.POIStatus.GlobalStatus if body is not None and body.POIStatus is not None else "OK"
        if status == "OK":
            return DeviceHealth(state="online")
        if status == "Busy":
            return DeviceHealth(state="online", conditions=("busy",), detail="a transaction is running")
        return DeviceHealth(state="error", conditions=(status.lower(),), detail=f"terminal reports {status}")

    # -- payments ---------------------------------------------------------------------------
    async def pay(self, amount: int, reference: str, *, on_status: StatusCallback) -> PaymentOutcome:
        return await self._payment(amount, reference, on_status, refund=False)

    async def refund(self, amount: int, reference: str, *, on_status: StatusCallback) -> PaymentOutcome:
        return await self._payment(amount, reference, on_status, refund=True)

    async def _payment(
        self, amount: int, reference: str, on_status: StatusCallback, *, refund: bool
    ) -> PaymentOutcome:
        async with self._lock:
            known = await self._status_of(reference, "Payment")
            if known != _NOT_FOUND:
                return known  # this reference already went to the terminal: never twice
            service = nexo.service_id(reference)
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            request = nexo.payment_request(
                sale_id=self.options.sale_id,
                poi_id=self.poi_id,
                service=service,
                transaction_id=reference,
                timestamp=stamp,
                amount=amount,
                currency=self.options.currency,
                refund=refund,
            )
            await on_status(TerminalStatus(code="sent", text="follow the terminal's instructions"))
            self._current = service
            try:
                response = await self._await_payment(request, service)
            finally:
                self._current = None
            body = response.PaymentResponse if response is not None else None
            if body is None:
                raise ProtocolError(
                    f"{self.device_id}: the payment request got no PaymentResponse", sent=True
                )
            if body.Response.ErrorCondition in ("Busy", "InProgress"):
                raise Busy(
                    f"{self.device_id}: terminal busy: {body.Response.AdditionalResponse or ''}", sent=True
                )
            return self._payment_outcome(body, reference, amount)

    async def _await_payment(
        self, request: nexo.SaleToPOIRequest, service: str
    ) -> nexo.SaleToPOIResponse | None:
        total = self.options.card_timeout + self.options.abort_grace + self.options.request_timeout
        task = asyncio.get_running_loop().create_task(self._post(request, total))
        done, _ = await asyncio.wait({task}, timeout=self.options.card_timeout)
        if not done:
            with contextlib.suppress(DeviceError):
                await self._abort_service(service)
            done, _ = await asyncio.wait({task}, timeout=self.options.abort_grace)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeviceError):
                await task
            raise Timeout(
                f"{self.device_id}: the payment did not end within {self.options.card_timeout:.0f}s nor after "
                "the abort; its outcome must be asked for",
                sent=True,
            )
        return task.result()

    async def abort(self) -> None:
        service = self._current
        if service is not None:
            with contextlib.suppress(DeviceError):
                await self._abort_service(service)

    async def _abort_service(self, service: str) -> None:
        await self._post(
            nexo.abort_request(**self._ids(), aborted_service=service), self.options.request_timeout
        )

    async def reverse(
        self, receipt_number: str, reference: str, *, on_status: StatusCallback
    ) -> PaymentOutcome:
        async with self._lock:
            known = await self._status_of(reference, "Reversal")
            if known != _NOT_FOUND:
                return known
            stamp = self._timestamps.get(receipt_number) or dt.datetime.now(dt.UTC).isoformat(
                timespec="seconds"
            )
            request = nexo.reversal_request(
                sale_id=self.options.sale_id,
                poi_id=self.poi_id,
                service=nexo.service_id(reference),
                poi_transaction_id=receipt_number,
                poi_timestamp=stamp,
            )
            await on_status(TerminalStatus(code="sent", text="reversing"))
            body = (await self._ask(request, self.options.card_timeout)).ReversalResponse
            if body is None:
                raise ProtocolError(f"{self.device_id}: the reversal got no ReversalResponse", sent=True)
            return self._reversal_outcome(body, reference)

    # -- recovery ---------------------------------------------------------------------------
    async def last_result(self, reference: str) -> PaymentOutcome | None:
        async with self._lock:
            for category in ("Payment", "Reversal"):
                known = await self._status_of(reference, category)
                if known != _NOT_FOUND:
                    return known
            return None

    async def _status_of(
        self, reference: str, category: Literal["Payment", "Reversal"]
    ) -> PaymentOutcome | Literal["not_found"]:
        request = nexo.transaction_status_request(
            **self._ids(), asked_service=nexo.service_id(reference), category=category
        )
        body = (await self._ask(request)).TransactionStatusResponse
        if body is None:
            raise ProtocolError(f"{self.device_id}: the status request got no TransactionStatusResponse")
        result = body.Response
        if result.Result != "Failure" and body.RepeatedMessageResponse is not None:
            repeated = body.RepeatedMessageResponse.RepeatedResponseMessageBody
            if repeated.PaymentResponse is not None:
                return self._payment_outcome(repeated.PaymentResponse, reference, 0)
            if repeated.ReversalResponse is not None:
                return self._reversal_outcome(repeated.ReversalResponse, reference)
        if result.ErrorCondition == "NotFound":
            return _NOT_FOUND
        if result.ErrorCondition in ("InProgress", "Busy"):
            raise Busy(f"{self.device_id}: the transaction for {reference!r} is still in progress; ask again")
        raise ProtocolError(f"{self.device_id}: transaction status {result.Result}/{result.ErrorCondition}")

    # -- end of day -------------------------------------------------------------------------
    async def end_of_day(self) -> list[str]:
        async with self._lock:
            body = (await self._ask(nexo.reconciliation_request(**self._ids()))).ReconciliationResponse
        if body is None or body.Response.Result == "Failure":
            reason = "no ReconciliationResponse" if body is None else body.Response.ErrorCondition
            raise Declined(f"{self.device_id}: reconciliation refused: {reason}")
        lines = ["RECONCILIATION"]
        for totals in body.TransactionTotals:
            for total in totals.PaymentTotals:
                amount = nexo.to_major(
                    nexo.to_minor(total.TransactionAmount, self.options.currency), self.options.currency
                )
                lines.append(
                    f"{totals.PaymentInstrumentType} {total.TransactionType}: {total.TransactionCount} x {amount}"
                )
        return lines

    # -- outcomes ---------------------------------------------------------------------------
    def _minor(self, amount: object, fallback: int, currency: str | None = None) -> int:
        if not isinstance(amount, Decimal):
            return fallback
        try:
            return nexo.to_minor(amount, currency or self.options.currency)
        except NexoError as exc:
            raise ProtocolError(f"{self.device_id}: {exc}", sent=True) from None

    def _payment_outcome(self, body: nb.PaymentResponse, reference: str, amount: int) -> PaymentOutcome:
        response, poi, result = body.Response, body.POIData, body.PaymentResult
        amounts = result.AmountsResp if result is not None else None
        card = result.PaymentInstrumentData.CardData if result and result.PaymentInstrumentData else None
        acquirer = result.PaymentAcquirerData if result is not None else None
        ident = poi.POITransactionID if poi is not None else None
        if ident is not None:
            self._timestamps[ident.TransactionID] = ident.TimeStamp
        state: Literal["approved", "declined", "aborted"] = (
            "approved"
            if response.Result != "Failure"
            else "aborted"
            if response.ErrorCondition in _ABORTED
            else "declined"
        )
        message = "approved" if response.Result == "Success" else "partially approved"
        if response.Result == "Failure":
            message = f"{response.ErrorCondition or 'failure'}: {response.AdditionalResponse or ''}".rstrip(
                ": "
            )
        return PaymentOutcome(
            state=state,
            amount=self._minor(
                amounts.AuthorizedAmount if amounts else None, amount, amounts.Currency if amounts else None
            ),
            result_code=response.ErrorCondition or response.Result,
            message=message,
            reference=reference,
            trace=(acquirer.ApprovalCode or "") if acquirer is not None else "",
            receipt_number=ident.TransactionID if ident is not None else "",
            terminal_id=self.poi_id,
            card_type=(card.PaymentBrand or "") if card is not None else "",
            masked_pan=(card.MaskedPan or "") if card is not None else "",
            authorized_at=ident.TimeStamp if ident is not None else "",
            receipt_lines=_receipt_lines(body.PaymentReceipt),
        )

    def _reversal_outcome(self, body: nb.ReversalResponse, reference: str) -> PaymentOutcome:
        response, ident = body.Response, body.POIData.POITransactionID if body.POIData else None
        approved = response.Result != "Failure"
        return PaymentOutcome(
            state="approved" if approved else "declined",
            amount=self._minor(body.ReversedAmount, 0),
            result_code=response.ErrorCondition or response.Result,
            message="reversed"
            if approved
            else f"{response.ErrorCondition}: {response.AdditionalResponse or ''}",
            reference=reference,
            receipt_number=ident.TransactionID if ident is not None else "",
            terminal_id=self.poi_id,
            authorized_at=ident.TimeStamp if ident is not None else "",
            receipt_lines=_receipt_lines(body.PaymentReceipt),
        )


def _receipt_lines(receipts: list[nb.PaymentReceipt] | None) -> list[str]:
    """The customer receipt's lines (or the first receipt's, if there is no customer copy)."""
    if not receipts:
        return []
    chosen = next((r for r in receipts if r.DocumentQualifier == "CustomerReceipt"), receipts[0])
    return [line.Text for line in chosen.OutputContent.OutputText]
