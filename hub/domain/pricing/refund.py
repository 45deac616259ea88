"""Refunds reverse a sold line's snapshot; they never price the line again.

A line sold as N units may be refunded in several parts. Each part gives back the difference
between what "the first k+q units" and "the first k units" are worth, each rounded half-up
from the snapshot, where k units were refunded before. Because these cumulative figures end at
exactly the snapshot's figures when the last unit comes back, any sequence of partial refunds
returns to the minor unit what was paid, with its discounts and tax per rate; and because
only the snapshot is read, a price or tax rate changed since the sale changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from hub.domain.pricing.allocation import round_half_up
from hub.domain.pricing.types import LineTax, PricedLine, PricingError, RefundAmounts


def _slice(value: int, sold: Decimal, before: Decimal, after: Decimal) -> int:
    """The part of ``value`` that units ``before``..``after`` of ``sold`` carry."""
    upto_after = value if after == sold else round_half_up(value * after / sold)
    upto_before = value if before == sold else round_half_up(value * before / sold)
    return upto_after - upto_before


def refund_slice(snapshot: PricedLine, sold: Decimal, already: Decimal, quantity: Decimal) -> RefundAmounts:
    """What refunding ``quantity`` more units of a line gives back, ``already`` refunded before.

    Raises :class:`PricingError` (``refund_exceeds_sold``) when more than what is left is asked.
    """
    if sold <= 0 or quantity <= 0 or already < 0:
        raise PricingError("invalid_quantity", "refund quantities must be positive")
    after = already + quantity
    if after > sold:
        raise PricingError(
            "refund_exceeds_sold", f"{quantity} asked but only {sold - already} left to refund"
        )
    gross = _slice(snapshot.gross, sold, already, after)
    discount = _slice(snapshot.line_discount + snapshot.cart_discount, sold, already, after)
    net = gross - discount
    amounts = [_slice(tax.amount, sold, already, after) for tax in snapshot.taxes]
    inclusive = sum(a for a, tax in zip(amounts, snapshot.taxes, strict=True) if tax.inclusive)
    # The slice's tax-free base follows from its net, as on the sale, so base + inclusive tax
    # is exactly the net of every slice, and the slices' bases add up to the line's.
    base = net - inclusive
    taxes = []
    before = 0
    for amount, tax in zip(amounts, snapshot.taxes, strict=True):
        taxes.append(
            LineTax(
                rate_id=tax.rate_id,
                name=tax.name,
                rate=tax.rate,
                inclusive=tax.inclusive,
                base=base + before if tax.compound else base,
                amount=amount,
                compound=tax.compound,
            )
        )
        before += amount
    exclusive = sum(a for a, tax in zip(amounts, snapshot.taxes, strict=True) if not tax.inclusive)
    return RefundAmounts(
        quantity=quantity, gross=gross, discount=discount, net=net, total=net + exclusive, taxes=tuple(taxes)
    )


def cash_rounding(amount: int, increment: int) -> int:
    """``amount`` rounded half-up to a multiple of ``increment`` (5 = 0.05; Finland, Swiss francs).

    Applies to what is paid in cash only (a tender's ``rounding``), never to the sale's tax or
    to card payments: 102 -> 100, 103 -> 105, 107 -> 105, 108 -> 110.
    """
    if increment <= 1:
        return amount
    sign = -1 if amount < 0 else 1
    whole, rest = divmod(abs(amount), increment)
    return sign * (whole + (1 if 2 * rest >= increment else 0)) * increment
