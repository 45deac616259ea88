"""Card payments: the checkout's card seam backed by the POS terminal's own card terminal.

The state machine of a payment, every step committed before the next one is taken:
``started`` (row written, terminal not asked yet) -> ``waiting_for_card`` (the terminal said
"insert card") -> ``approved`` | ``declined`` | ``aborted``; ``unknown`` when the link broke
before the terminal said how it ended. An unknown or interrupted payment is never guessed: the
terminal is asked for its last result first (at start-up, and before any retry), so a payment
is never lost and never taken twice. A checkout retried with the same key after an approval
completes the sale with that approval instead of charging again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from drivers.base import PaymentOutcome, TerminalStatus
from drivers.errors import DeviceError
from hub.domain.errors import Conflict, DomainError, NotFound
from hub.domain.events import EventLog
from hub.domain.payments.store import OPEN_STATES, CardPayment, CardPayments, Kind
from hub.domain.sales.card_terminal import CardApproval, CardTerminal
from hub.domain.sales.tenders import PaymentRequest

log = logging.getLogger(__name__)

StatusSink = Callable[[TerminalStatus], Awaitable[None]]


class TerminalPort(Protocol):
    """What the payments service needs of the device manager."""

    def terminal_for(self, pos_terminal: str) -> str | None:
        """The card terminal adopted for a POS terminal (role ``payment_terminal``)."""

    async def card_operation(
        self,
        device_id: str,
        kind: Kind,
        amount: int,
        reference: str,
        on_status: StatusSink,
        *,
        receipt_number: str = "",
    ) -> PaymentOutcome:
        """Run a payment, refund or reversal (of ``receipt_number``) on the card terminal's own task."""

    async def card_last_result(self, device_id: str, reference: str) -> PaymentOutcome | None:
        """Ask the card terminal how the operation ``reference`` ended."""


class CardRefused(DomainError):
    """The card was declined or the payment aborted: nothing was sold, the cart stays as it was."""

    status = 402


class CardPaymentsService(CardTerminal):
    """Takes card payments through the POS terminal's card terminal; the cashier's one-click
    confirmation (``fallback``) where a POS terminal has none."""

    def __init__(
        self, store: CardPayments, events: EventLog, port: TerminalPort, fallback: CardTerminal
    ) -> None:
        self.store = store
        self._events = events
        self._port = port
        self._fallback = fallback

    async def authorize(
        self, payment: PaymentRequest, *, amount: int, sale_key: str, terminal_id: str = "", line: int = 0
    ) -> CardApproval:
        device = self._port.terminal_for(terminal_id) if terminal_id else None
        if device is None:
            return await self._fallback.authorize(payment, amount=amount, sale_key=sale_key)
        return _approval(
            await self.take(
                kind="payment",
                amount=amount,
                sale_key=sale_key,
                line=line,
                terminal_id=terminal_id,
                device=device,
            )
        )

    async def refund(self, *, amount: int, sale_key: str, terminal_id: str) -> CardApproval:
        """A refund to card on the POS terminal's card terminal (one-click elsewhere)."""
        device = self._port.terminal_for(terminal_id) if terminal_id else None
        if device is None:
            return await self._fallback.refund(amount=amount, sale_key=sale_key, terminal_id=terminal_id)
        return _approval(
            await self.take(
                kind="refund",
                amount=amount,
                sale_key=sale_key,
                line=0,
                terminal_id=terminal_id,
                device=device,
            )
        )

    async def reverse(self, payment_id: int) -> CardPayment:
        """Give back a card payment no sale was completed with (the customer walked away after
        paying, a checkout that could not finish): the terminal reverses it by its receipt number.
        Returns the reversal; asking again after it was approved returns the same one. A payment
        that completed a sale is refunded with the sale instead."""
        payment = await self.store.get(payment_id)
        if payment is None:
            raise NotFound("payment_not_found", f"no card payment {payment_id}")
        if payment.kind != "payment":
            raise Conflict("not_a_payment", f"card operation {payment_id} is a {payment.kind}, not a payment")
        if payment.state in OPEN_STATES:
            payment = await self.resolve(payment)
        if payment.state != "reversed":
            if payment.state != "approved":
                raise Conflict(
                    "payment_not_approved", f"payment {payment_id} is {payment.state}: nothing was taken"
                )
            if payment.sale_id is not None:
                raise Conflict("payment_has_sale", f"payment {payment_id} paid sale {payment.sale_id}: refund the "
                               "sale instead", details={"sale_id": payment.sale_id})  # fmt: skip
        receipt = payment.outcome.receipt_number if payment.outcome is not None else ""
        if not receipt:
            raise Conflict("no_receipt_number", f"the terminal gave payment {payment_id} no receipt number to "
                           "reverse it by")  # fmt: skip
        return await self.take(kind="reversal", amount=payment.amount, sale_key=f"reversal-{payment.id}", line=0,
                               terminal_id=payment.terminal_id, device=payment.device_id, reverses=payment.id,
                               receipt_number=receipt)  # fmt: skip

    async def take(self, *, kind: Kind, amount: int, sale_key: str, line: int, terminal_id: str, device: str,
                   reverses: int | None = None, receipt_number: str = "") -> CardPayment:  # fmt: skip
        """Run one card payment, refund or reversal to its end; raises :class:`CardRefused` unless approved."""
        for interrupted in await self.store.open():
            # A payment a restart or a broken link left open is settled with its terminal first.
            if interrupted.device_id == device:
                await self.resolve(interrupted)
        previous = await self.store.latest(sale_key, line)
        if previous is not None and previous.state in OPEN_STATES:
            previous = await self.resolve(previous)
        if previous is not None and previous.state == "approved" and previous.amount == amount:
            # The sale was not written after this approval (a crash, a lost answer): use it.
            return previous
        row = await self.store.start(
            sale_key=sale_key,
            line=line,
            kind=kind,
            terminal_id=terminal_id,
            device_id=device,
            amount=amount,
            reverses=reverses,
        )
        await self._event(row)

        async def on_status(status: TerminalStatus) -> None:
            nonlocal row
            if row.state == "started":
                row = await self.store.set_state(row.id, "waiting_for_card")
            await self._event(row, status)

        try:
            outcome = await self._port.card_operation(
                device, kind, amount, row.reference, on_status, receipt_number=receipt_number
            )
        except DeviceError as exc:
            log.warning("card terminal link broke mid-payment; asking it how it ended",
                        extra={"device": device, "payment": row.id, "error": str(exc)})  # fmt: skip
            row = await self.store.set_state(row.id, "unknown", message=str(exc))
            row = await self.resolve(row)
            if row.state == "unknown":
                raise CardRefused(
                    "card_result_unknown",
                    f"the card terminal did not say how the payment ended ({exc}); it is asked again before "
                    "the next payment",
                    details={"payment_id": row.id},
                ) from None
        else:
            row = await self._record(row, outcome)
        if row.state != "approved":
            code = "card_declined" if row.state == "declined" else "card_aborted"
            raise CardRefused(code, row.message or row.state, details={"payment_id": row.id,
                                                                        "result_code": _code(row)})  # fmt: skip
        return row

    async def resolve(self, row: CardPayment) -> CardPayment:
        """Ask the terminal how an interrupted payment ended and record it."""
        try:
            outcome = await self._port.card_last_result(row.device_id, row.reference)
        except DeviceError as exc:
            log.warning("card terminal cannot tell the last result yet",
                        extra={"payment": row.id, "error": str(exc)})  # fmt: skip
            return (
                row
                if row.state == "unknown"
                else await self.store.set_state(row.id, "unknown", message=str(exc))
            )
        if outcome is None:
            # The terminal never started it: nothing was taken.
            return await self._record(row, PaymentOutcome(state="aborted", amount=row.amount,
                                                          message="the terminal never started this payment"))  # fmt: skip
        return await self._record(row, outcome)

    async def recover(self) -> list[CardPayment]:
        """At start-up, before anything else: settle every payment a stop left open."""
        settled = []
        for row in await self.store.open():
            settled.append(await self.resolve(row))
            log.warning("card payment interrupted by a restart was settled with the terminal",
                        extra={"payment": row.id, "state": settled[-1].state})  # fmt: skip
        return settled

    async def _record(self, row: CardPayment, outcome: PaymentOutcome) -> CardPayment:
        state = outcome.state if outcome.state in ("approved", "declined", "aborted") else "unknown"
        row = await self.store.set_state(row.id, state, outcome=outcome, message=outcome.message or None)
        await self._event(row)
        # Here also when a restart settles an interrupted reversal: the payment is given back.
        reversed_now = (
            row.kind == "reversal"
            and row.state == "approved"
            and row.reverses is not None
            and await self.store.mark_reversed(row.reverses)
        )
        if reversed_now and row.reverses is not None:
            reversed_payment = await self.store.get(row.reverses)
            if reversed_payment is not None:
                await self._event(reversed_payment)
        return row

    async def _event(self, row: CardPayment, status: TerminalStatus | None = None) -> None:
        data: dict[str, object] = {"payment_id": row.id, "terminal_id": row.terminal_id, "device_id": row.device_id,
                                   "kind": row.kind, "amount": row.amount, "state": row.state}  # fmt: skip
        if status is not None:
            data.update(code=status.code, text=status.text)
        if row.message:
            data["message"] = row.message
        await self._events.record("payment.status", data)


def _code(row: CardPayment) -> str:
    return row.outcome.result_code if row.outcome is not None else ""


def _approval(row: CardPayment) -> CardApproval:
    outcome = row.outcome
    reference = (outcome.receipt_number or outcome.trace) if outcome is not None else ""
    return CardApproval(
        reference=reference or row.reference,
        receipt_lines=tuple(outcome.receipt_lines) if outcome is not None else (),
        payment_id=row.id,
    )
