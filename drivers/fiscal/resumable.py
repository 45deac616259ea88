"""The exactly-once receipt flow of the Datecs C and Tremol drivers, written once for both.

It is the Datecs X driver's flow (:mod:`drivers.fiscal.datecs_x`) over a handful of device
steps a protocol driver provides:

1. read the device's transaction state: is a receipt open, its number (or the last issued
   one), its item count, total and what is paid so far;
2. if a previous attempt marked ``close_sent``: never cancel. A closed receipt whose number
   moved past ``before_number`` is the answer; a receipt still open never saw its close, so it
   is closed now;
3. otherwise nothing on the device is fiscal yet: cancel what is open, mark the device's number
   as ``before_number``, open (a storno receipt for a refund), register the sales, check the
   device's item count and total, pay, print the comments, check count, total and payment
   once more, mark ``close_sent`` and close. The receipt number is read after the close.

One device rule bends step 3: a Datecs C refuses to cancel a receipt once a payment is in it.
When such a receipt is open and it is ours (its number moved past our ``before_number`` and its
items and total are the sale's), the payments still missing are registered and the receipt is
closed; anything else open with a payment is left for a person, with a message saying so.

Lost replies inside one attempt are the link's business (same sequence number on resend); a
dropped link or a killed hub ends the attempt, and the next one starts again at step 1.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from drivers.errors import Declined, DeviceError
from drivers.fiscal.base import FiscalJournal, FiscalPrinterDriver
from protocols.fiscal.datecs_x_commands import money
from protocols.fiscal.errors import FiscalProtocolError
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt, FiscalResult


@dataclass(frozen=True, slots=True)
class Transaction:
    """The device's receipt state: the open receipt's, or the last issued one's when closed."""

    is_open: bool
    number: int  # the open receipt's number, or the last one the device issued
    items: int
    amount: int  # minor units
    paid: int  # minor units, change included (what the payments registered)


class ResumableFiscalPrinter(FiscalPrinterDriver):
    """A fiscal printer driven through the resumable flow; subclasses supply the device steps."""

    # False for a device that refuses to cancel a receipt once it holds a payment (Datecs C):
    # an interrupted receipt of ours is then finished instead of cancelled and issued again.
    cancels_paid_receipts: ClassVar[bool] = True

    serial_number: str = ""
    fm_number: str = ""

    # -- device steps ---------------------------------------------------------------------
    @abc.abstractmethod
    async def _transaction(self, exponent: int) -> Transaction:
        """The device's transaction state (amounts in minor units of ``exponent``)."""

    @abc.abstractmethod
    async def _cancel(self) -> None:
        """Cancel the open receipt (nothing of it becomes fiscal)."""

    @abc.abstractmethod
    async def _open(self, receipt: FiscalReceipt) -> None:
        """Open a sale receipt, or a storno receipt for a refund."""

    @abc.abstractmethod
    async def _sale(self, item: FiscalItem, exponent: int) -> None:
        """Register one line."""

    @abc.abstractmethod
    async def _pay(self, payment: FiscalPayment, value: int, exponent: int) -> None:
        """Register a payment of ``value`` minor units."""

    @abc.abstractmethod
    async def _comment(self, text: str) -> None:
        """Print a free text line inside the receipt."""

    @abc.abstractmethod
    async def _close(self) -> int:
        """Close the fully paid receipt; returns its fiscal number."""

    # -- the flow -------------------------------------------------------------------------
    async def fiscalise(self, receipt: FiscalReceipt, journal: FiscalJournal) -> FiscalResult:
        exponent = receipt.currency_exponent
        state = await self._transaction(exponent)
        marks = journal.marks
        if marks.get("close_sent"):
            return await self._reconcile(state, int(marks["before_number"]), receipt)
        first_payment = 0
        if state.is_open and state.paid and not self.cancels_paid_receipts:
            first_payment = self._resume_point(state, marks.get("before_number"), receipt)
        else:
            if state.is_open:
                # Nothing of an open receipt is fiscal until it is closed, and we never sent close.
                await self._cancel()
                state = await self._transaction(exponent)
            await journal.mark(before_number=state.number, started=True)
            try:
                await self._open(receipt)
                for item in receipt.items:
                    await self._sale(item, exponent)
            except FiscalProtocolError as exc:
                # Something of the sale cannot be said to the device (a name in no code page, a
                # price too large): the receipt is cancelled and the sale refused for a person.
                with contextlib.suppress(DeviceError):
                    await self._cancel()
                raise Declined(f"{self.device_id}: the receipt cannot be sent to the device: {exc}") from None
            # Checked before any payment: until then every device can still cancel.
            await self._check(receipt, await self._transaction(exponent), paid=False)
        try:
            for payment in receipt.payments[first_payment:]:
                await self._pay(payment, self._payment_value(payment, receipt), exponent)
            for comment in receipt.comments:
                await self._comment(comment)
        except FiscalProtocolError as exc:
            await self._abandon(f"the receipt cannot be sent to the device: {exc}")
        await self._check(receipt, await self._transaction(exponent), paid=True)
        await journal.mark(close_sent=True)
        return self._result(await self._close(), receipt)

    async def _reconcile(self, state: Transaction, before: int, receipt: FiscalReceipt) -> FiscalResult:
        """Finish a receipt whose close may have been sent, without ever cancelling it."""
        if not state.is_open and state.number != before:
            return self._result(state.number, receipt)
        if state.is_open:
            return self._result(await self._close(), receipt)
        raise Declined(
            f"{self.device_id}: the receipt was closed without a new fiscal number (device shows "
            f"{state.number}); check the device's journal before issuing it again"
        )

    def _resume_point(self, state: Transaction, before: object, receipt: FiscalReceipt) -> int:
        """How many of the receipt's payments the open, part-paid receipt already holds.

        Only our own receipt is resumed: its number moved past ``before_number`` and the device
        counts our items and total. Payments are sent in order, so what the device has is the
        sum of a prefix of them.
        """
        ours = (
            before is not None
            and state.number != int(str(before))
            and (state.items, state.amount) == (len(receipt.items), receipt.total)
        )
        if ours:
            registered = 0
            for index, payment in enumerate([None, *receipt.payments]):
                if payment is not None:
                    registered += self._payment_value(payment, receipt)
                if registered == state.paid:
                    return index
        raise Declined(
            f"{self.device_id}: receipt {state.number} is open on the device with a payment of "
            f"{money(state.paid, receipt.currency_exponent)}, and this device cannot cancel a receipt "
            "once it holds a payment; finish or close it on the device, then retry"
        )

    async def _check(self, receipt: FiscalReceipt, state: Transaction, *, paid: bool) -> None:
        """Compare the device's count and total (and payment) with the sale before going on."""
        exponent = receipt.currency_exponent
        wrong = (state.items, state.amount) != (len(receipt.items), receipt.total)
        if not wrong and (not paid or state.paid >= state.amount):
            return
        await self._abandon(
            f"the device counted {state.items} item(s) for {money(state.amount, exponent)} paid "
            f"{money(state.paid, exponent)}, the sale has {len(receipt.items)} for "
            f"{money(receipt.total, exponent)}"
        )

    async def _abandon(self, why: str) -> None:
        """Cancel the open receipt and refuse the sale with ``why``; always raises Declined."""
        try:
            await self._cancel()
        except Declined:
            raise Declined(
                f"{self.device_id}: {why}; the device refused to cancel the open receipt (it holds "
                "a payment): finish or close it on the device"
            ) from None
        raise Declined(f"{self.device_id}: {why}; the receipt was cancelled")

    @staticmethod
    def _payment_value(payment: FiscalPayment, receipt: FiscalReceipt) -> int:
        # A sale registers what was handed over, so the device prints the change as the sale
        # did; a storno receipt cannot give change, so a refund registers what it pays out.
        if receipt.kind == "refund":
            return payment.amount
        return max(payment.tendered, payment.amount)

    def _result(self, number: int, receipt: FiscalReceipt) -> FiscalResult:
        return FiscalResult(
            fiscal_number=str(number),
            fiscalised_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            device_serial=self.fm_number,
            details={"serial_number": self.serial_number, "request_id": receipt.request_id},
        )


def refund_reference(device_id: str, receipt: FiscalReceipt) -> tuple[int, dt.datetime]:
    """The refunded receipt's fiscal number and its time on the device's (local) clock.

    A storno receipt must name the receipt it reverses; without one the refund is refused here,
    with a message, rather than by the device with a bare syntax error.
    """
    text = receipt.refund_of_number.strip()
    if not text.isdigit() or int(text) <= 0:
        raise Declined(
            f"{device_id}: a refund needs the fiscal number of the refunded receipt (got {text!r})"
        )
    try:
        moment = dt.datetime.fromisoformat(receipt.refund_of_at)
    except ValueError:
        raise Declined(f"{device_id}: bad time of the refunded receipt: {receipt.refund_of_at!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)  # the device's clock runs on local time
    return int(text), moment
