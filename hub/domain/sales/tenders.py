"""Tenders and how a set of payments settles an amount due (the seed 001 tender model).

:func:`settle` is pure: it takes the amount due, the payments the cashier entered in order and
the tender definitions, and either returns the settlement (what each payment counts, change,
cash rounding, balance left on account, whether to open the drawer) or raises
:class:`TenderError` with a machine-readable code. Rules, in the order they are checked:

* every payment names an active tender and a positive amount; ``require_comment`` tenders need
  a comment; a tender with ``tender_use = single`` appears at most once, ``only_this`` only alone;
* cash rounding (``rounding``, in minor units: 5 = 0.05) applies to what is left to pay when a
  payment in that tender settles the sale, never to other tenders and never to tax; the
  difference is the sale's ``rounding`` (negative when the customer pays less);
* paying more than is left is over-tender: allowed only for the payment that settles the sale,
  when its tender has ``over_tender`` and a ``change_type`` other than ``none``: ``tender`` gives
  change (in ``change_tender``, the tender itself by default), ``overpay`` keeps the excess;
* split payments (more than one) must sum exactly to the amount due (the help center's "Mix");
* paying less is under-tender: allowed only when the last payment's tender has
  ``under_tender`` (an invoice or on-account tender); the rest is the sale's ``balance_due``;
* the drawer opens when any payment's tender says ``force_open`` or change is given in cash.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from hub.domain.money import Amount
from hub.domain.pricing import cash_rounding

TenderUse = Literal["multiple", "single", "only_this"]
ChangeType = Literal["none", "tender", "overpay"]
DrawerRule = Literal["ignore", "force_open", "force_close"]
TenderType = Literal[
    "cash",
    "card",
    "card_selfservice",
    "lunchvoucher",
    "voucher",
    "epassi",
    "eazybreak",
    "mobilepay",
    "mobilepay_selfservice",
    "prepaid",
    "invoice",
    "only_invoice",
    "other",
    "giftcard",
]


class Tender(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A payment method on the terminal, as the POS data model (seed 001) defines it."""

    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_-]{1,32}$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    tender_type: TenderType
    printout_type: Literal["receipt", "no_receipt", "bill", "invoice"] = "receipt"
    tender_use: TenderUse = "multiple"
    cashdrawer: DrawerRule = "ignore"
    change_type: ChangeType = "none"
    change_tender: str | None = None
    eft: bool = False
    rounding: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    over_tender: bool = False
    under_tender: bool = False
    require_comment: bool = False
    active: bool = True
    sort_order: int = 0


class PaymentRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """One payment as the cashier enters it: the tender and the amount handed over."""

    tender_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    amount: Amount
    comment: Annotated[str, msgspec.Meta(max_length=200)] = ""
    reference: Annotated[str, msgspec.Meta(max_length=64)] = ""
    card_confirmed: bool = False


@dataclass(frozen=True, slots=True)
class SettledPayment:
    tender: Tender
    amount: int  # counted towards the sale
    tendered: int  # handed over
    change: int
    rounding: int
    reference: str
    comment: str


@dataclass(frozen=True, slots=True)
class Settlement:
    payments: tuple[SettledPayment, ...]
    rounding: int  # sum of payment roundings: amount_due + rounding = what was collected
    paid_total: int
    change_total: int
    balance_due: int
    open_drawer: bool

    @property
    def collected(self) -> int:
        return self.paid_total


class TenderError(ValueError):
    """Payments that cannot settle the sale; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _check_shape(payments: list[PaymentRequest], tenders: dict[str, Tender]) -> list[Tender]:
    if not payments:
        raise TenderError("no_payment", "a sale needs at least one payment")
    resolved = []
    for index, payment in enumerate(payments):
        tender = tenders.get(payment.tender_id)
        if tender is None or not tender.active:
            raise TenderError(
                "unknown_tender", f"payment {index + 1}: no active tender {payment.tender_id!r}"
            )
        if payment.amount <= 0:
            raise TenderError("invalid_amount", f"payment {index + 1}: amount must be greater than 0")
        if tender.require_comment and not payment.comment.strip():
            raise TenderError("comment_required", f"payment {index + 1}: {tender.name} needs a comment")
        resolved.append(tender)
    uses = Counter(t.id for t in resolved)
    for tender in resolved:
        if tender.tender_use == "only_this" and len(payments) > 1:
            raise TenderError("tender_only_this", f"{tender.name} cannot be combined with other payments")
        if tender.tender_use == "single" and uses[tender.id] > 1:
            raise TenderError("tender_single", f"{tender.name} can be used once per sale")
    return resolved


def settle(amount_due: int, payments: list[PaymentRequest], tenders: dict[str, Tender]) -> Settlement:
    """Settle ``amount_due`` with ``payments`` (in the order entered); see the module rules."""
    resolved = _check_shape(payments, tenders)
    settled: list[SettledPayment] = []
    remaining = amount_due
    rounding_total = 0
    last = len(payments) - 1
    for index, (payment, tender) in enumerate(zip(payments, resolved, strict=True)):
        # What is left, as this tender would collect it (cash rounding applies to cash only).
        left_here = cash_rounding(remaining, tender.rounding) if tender.rounding > 1 else remaining
        if payment.amount >= left_here and index != last:
            raise TenderError(
                "payment_after_settled", f"payment {index + 2} comes after the sale was already paid"
            )
        if payment.amount > left_here:
            excess = payment.amount - left_here
            if len(payments) > 1:
                raise TenderError("split_must_be_exact", "split payments must add up exactly to the total")
            if not tender.over_tender or tender.change_type == "none":
                raise TenderError("over_tender_not_allowed", f"{tender.name} cannot take more than is due")
            change = excess if tender.change_type == "tender" else 0
            counted = left_here if tender.change_type == "tender" else payment.amount
            rounding = left_here - remaining
        elif payment.amount == left_here:
            change, counted, rounding = 0, payment.amount, left_here - remaining
        else:
            change, counted, rounding = 0, payment.amount, 0
        settled.append(
            SettledPayment(
                tender=tender,
                amount=counted,
                tendered=payment.amount,
                change=change,
                rounding=rounding,
                reference=payment.reference,
                comment=payment.comment,
            )
        )
        rounding_total += rounding
        remaining = remaining - counted + rounding
    paid = sum(p.amount for p in settled)
    balance = amount_due + rounding_total - paid
    if balance > 0:
        if not resolved[-1].under_tender:
            raise TenderError(
                "underpaid",
                f"paid {paid} of {amount_due + rounding_total}; the last tender allows no balance",
            )
        if len(payments) > 1:
            raise TenderError("split_must_be_exact", "split payments must add up exactly to the total")
    change_total = sum(p.change for p in settled)
    open_drawer = any(p.tender.cashdrawer == "force_open" for p in settled) or any(
        p.change and _change_tender(p.tender, tenders).tender_type == "cash" for p in settled
    )
    return Settlement(
        payments=tuple(settled),
        rounding=rounding_total,
        paid_total=paid,
        change_total=change_total,
        balance_due=max(balance, 0),
        open_drawer=open_drawer,
    )


def _change_tender(tender: Tender, tenders: dict[str, Tender]) -> Tender:
    return tenders.get(tender.change_tender or tender.id, tender)
