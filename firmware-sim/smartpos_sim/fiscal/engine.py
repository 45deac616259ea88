"""The fiscal memory and receipt state machine, the same for every protocol.

A receipt goes open -> sales -> (subtotal) -> payments -> close, or is cancelled while open.
Receipt numbers are global and only increase (a cancelled receipt keeps its number, as it was
printed); a Z report adds the day's totals to the fiscal memory, increments the Z counter and
zeroes the daily registers, including the cash registers, which the Datecs manuals say live
"until the end of the day". Every method either does all of its work or raises
:class:`~smartpos_sim.fiscal.model.Refused` having changed nothing: checks come first, the
paper check last among them (a print command on an empty roll is refused whole).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from smartpos_sim.fiscal.model import (
    MAX_AMOUNT,
    TAX_GROUPS,
    DailyTotals,
    Identity,
    Item,
    Payment,
    Receipt,
    ReceiptKind,
    Refusal,
    Refused,
    Report,
    StornoOf,
    Transaction,
)


def _round(value: Decimal) -> int:
    # Half up, as fiscal devices round line totals and percentage discounts.
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class FiscalEngine:
    """One device's fiscal memory. Not thread-safe: the link layer runs one command at a time."""

    def __init__(
        self, identity: Identity, *, first_number: int = 1, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        self.identity = identity
        self.paper_out = False
        self.fm_nearly_full = False
        self.z_counter = 0
        self.cash_sum = 0
        self.daily = DailyTotals()
        self.open_receipt: Receipt | None = None
        self.receipts: list[Receipt] = []  # every receipt issued: closed and cancelled
        self._next_number = first_number
        self._clock = clock
        self._offset = timedelta(0)

    # -- clock ----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The device's clock (the host may have set it away from ours)."""
        return (self._clock() + self._offset).replace(microsecond=0)

    def set_datetime(self, value: datetime) -> None:
        """Set the device clock (kept as an offset from ours, so it keeps running)."""
        self._offset = value - self._clock()

    # -- receipts -------------------------------------------------------------------------
    def _printing(self) -> None:
        if self.paper_out:
            raise Refused(Refusal.PAPER_OUT)

    def _receipt(self) -> Receipt:
        if self.open_receipt is None:
            raise Refused(Refusal.RECEIPT_CLOSED)
        return self.open_receipt

    def _idle(self) -> None:
        if self.open_receipt is not None:
            raise Refused(Refusal.RECEIPT_OPEN)

    def open(
        self,
        kind: ReceiptKind,
        *,
        operator: str,
        till: int,
        unique_sale_number: str = "",
        storno_of: StornoOf | None = None,
    ) -> Receipt:
        """Open a sale or storno receipt; it takes the next receipt number."""
        if self.open_receipt is not None:
            raise Refused(Refusal.ALREADY_OPEN)
        self._printing()
        receipt = Receipt(
            number=self._next_number,
            kind=kind,
            operator=operator,
            till=till,
            opened_at=self.now().isoformat(),
            unique_sale_number=unique_sale_number,
            storno_of=storno_of,
        )
        self._next_number += 1
        self.open_receipt = receipt
        return receipt

    def sale(
        self,
        name: str,
        group: str,
        unit_price: int,
        quantity: Decimal,
        *,
        percent: Decimal | None = None,
        amount: int = 0,
    ) -> Item:
        """Register a line; ``percent`` or ``amount`` is a signed surcharge (+) or discount (-).

        A negative ``unit_price`` is a correction of an earlier line of the same receipt.
        """
        receipt = self._receipt()
        if receipt.payments:
            raise Refused(Refusal.PAYMENT_STARTED)
        if group not in TAX_GROUPS:
            raise ValueError(f"tax group {group!r}")
        base = _round(Decimal(unit_price) * quantity)
        if base == 0:
            raise Refused(Refusal.ZERO_SALE)
        adjustment = _round(Decimal(base) * percent / 100) if percent is not None else amount
        total = base + adjustment
        if abs(base) > MAX_AMOUNT or abs(total) > MAX_AMOUNT or abs(receipt.total + total) > MAX_AMOUNT:
            raise Refused(Refusal.OVERFLOW)
        if (base > 0 and total < 0) or receipt.group_totals()[group] + total < 0:
            raise Refused(Refusal.NEGATIVE_TURNOVER)
        self._printing()
        item = Item(name, group, unit_price, quantity, adjustment, total)
        receipt.items.append(item)
        return item

    def subtotal(self) -> Receipt:
        """The open receipt, for its running total and totals per tax group (nothing printed)."""
        return self._receipt()

    def comment(self, text: str) -> None:
        """A free text line in the open receipt."""
        receipt = self._receipt()
        self._printing()
        receipt.comments.append(text)

    def pay(self, kind: str, amount: int | None) -> tuple[int, int]:
        """A payment (``None`` pays what is due); returns (still due, change)."""
        receipt = self._receipt()
        if not receipt.items or receipt.total <= 0:
            raise Refused(Refusal.NO_SALES)
        if receipt.payments and receipt.paid >= receipt.total:
            raise Refused(Refusal.FULLY_PAID)
        value = receipt.due if amount is None else amount
        if value <= 0:
            raise Refused(Refusal.ZERO_PAYMENT)
        if value > MAX_AMOUNT:
            raise Refused(Refusal.OVERFLOW)
        if receipt.kind == "storno" and value > receipt.due:
            raise Refused(Refusal.STORNO_CHANGE)
        self._printing()
        receipt.payments.append(Payment(kind, value))
        return receipt.due, receipt.change

    def close(self) -> Receipt:
        """Close a fully paid receipt: its totals join the day's."""
        receipt = self._receipt()
        if not receipt.items:
            raise Refused(Refusal.NO_SALES)
        if not receipt.payments:
            raise Refused(Refusal.PAYMENT_NOT_STARTED)
        if receipt.paid < receipt.total:
            raise Refused(Refusal.NOT_PAID)
        self._printing()
        daily = self.daily
        into = daily.sales if receipt.kind == "sale" else daily.storno
        for group, value in receipt.group_totals().items():
            into[group] += value
        for payment in receipt.payments:
            daily.payments[payment.kind] = daily.payments.get(payment.kind, 0) + payment.amount
        cash = sum(p.amount for p in receipt.payments if p.kind == "cash")
        if receipt.kind == "sale":
            daily.fiscal_receipts += 1
            self.cash_sum += cash - receipt.change  # the change leaves the drawer in cash
        else:
            daily.storno_receipts += 1
            self.cash_sum -= cash  # a refund paid out in cash
        return self._finish(receipt)

    def cancel(self, *, before_payment_only: bool = False) -> Receipt:
        """Cancel the open receipt (printed as cancelled; its number is used, totals are not)."""
        receipt = self._receipt()
        if before_payment_only and receipt.payments:
            raise Refused(Refusal.PAYMENT_STARTED)
        self._printing()
        receipt.cancelled = True
        if receipt.kind == "sale":
            self.daily.fiscal_receipts += 1
        else:
            self.daily.storno_receipts += 1
        return self._finish(receipt)

    def _finish(self, receipt: Receipt) -> Receipt:
        receipt.closed_at = self.now().isoformat()
        self.daily.documents += 1
        self.receipts.append(receipt)
        self.open_receipt = None
        return receipt

    def transaction(self) -> Transaction:
        """The open receipt's state, or the last issued receipt's when none is open."""
        receipt = self.open_receipt or (self.receipts[-1] if self.receipts else None)
        if receipt is None:
            return Transaction(False, None, None, self._next_number - 1, 0, 0, 0, False)
        reason = receipt.storno_of.reason if receipt.storno_of else None
        return Transaction(
            is_open=receipt is self.open_receipt,
            kind=receipt.kind,
            storno_reason=reason,
            number=receipt.number,
            items=len(receipt.items),
            amount=receipt.total,
            paid=receipt.paid,
            payment_started=bool(receipt.payments),
        )

    @property
    def last_number(self) -> int:
        """The number of the last receipt issued (or opened)."""
        return self._next_number - 1

    # -- reports, cash, duplicates --------------------------------------------------------
    def report(self, *, zeroing: bool) -> Report:
        """An X report (``zeroing=False``) or a Z report, which zeroes the day."""
        self._idle()
        self._printing()
        number = self.z_counter + 1  # an X report shows the number the next Z will have
        report = Report(zeroing, number, dict(self.daily.sales), dict(self.daily.storno), self.cash_sum)
        if zeroing:
            self.z_counter = number
            self.daily = DailyTotals()
            self.cash_sum = 0
        else:
            self.daily.documents += 1
        return report

    def cash(self, amount: int) -> tuple[int, int, int]:
        """Cash in (> 0) or out (< 0); 0 only reads. Returns (cash sum, cash in, cash out)."""
        self._idle()
        if amount < 0 and -amount > self.cash_sum:
            raise Refused(Refusal.NO_CASH)
        if abs(amount) > MAX_AMOUNT or self.cash_sum + amount > MAX_AMOUNT:
            raise Refused(Refusal.OVERFLOW)
        if amount:
            self._printing()
            self.daily.documents += 1
            self.cash_sum += amount
            if amount > 0:
                self.daily.cash_in += amount
            else:
                self.daily.cash_out -= amount
        return self.cash_sum, self.daily.cash_in, self.daily.cash_out

    def duplicate(self) -> Receipt:
        """Print a copy of the last closed receipt with sales; one copy per receipt."""
        self._idle()
        last = next((r for r in reversed(self.receipts) if not r.cancelled), None)
        if last is None:
            raise Refused(Refusal.NOTHING_TO_PRINT)
        if last.duplicated:
            raise Refused(Refusal.DUPLICATE_PRINTED)
        self._printing()
        last.duplicated = True
        self.daily.documents += 1
        return last

    # -- inspection -----------------------------------------------------------------------
    def receipts_json(self) -> list[dict[str, Any]]:
        """Every receipt issued, oldest first (the control port's ``receipts``)."""
        return [receipt.to_json() for receipt in self.receipts]

    def state_json(self) -> dict[str, Any]:
        """The fiscal memory (the control port's ``state``)."""
        return {
            "open_receipt": None if self.open_receipt is None else self.open_receipt.to_json(),
            "last_number": self.last_number,
            "z_counter": self.z_counter,
            "daily": self.daily.to_json(),
            "cash": {"sum": self.cash_sum, "in": self.daily.cash_in, "out": self.daily.cash_out},
            "datetime": self.now().isoformat(),
            "paper_out": self.paper_out,
            "fm_nearly_full": self.fm_nearly_full,
            "serial_number": self.identity.serial_number,
            "fm_number": self.identity.fm_number,
        }
