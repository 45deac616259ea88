"""``price_cart``: the one function that prices a cart.

Order of operations, each step in whole minor units unless said otherwise:

1. **Gross** = quantity x unit price, rounded half-up (weighed items have 3-decimal quantities).
2. **Line discount** = the gratis units at their price, plus the line's own discount (a
   percentage of what is left, rounded half-up, or a fixed amount no larger than it).
3. **Cart discount**: a percentage of the sum of lines after their discounts (rounded
   half-up) or a fixed amount; spread over the lines in proportion to what each line still
   costs, by largest remainder, so the shares add up to the discount exactly. Spreading it
   per line is what lets a German cart with 19 % and 7 % goods carry the discount into both
   rates' tax bases, and lets a refund return a line's share.
4. **Net** = gross - both discounts: what the customer pays for the line before exclusive tax.
5. **Taxes** per line (:mod:`hub.domain.pricing.taxes`), rounded as the store's
   ``rounding_scope`` says:

   * ``line``: each line's tax per rate is rounded half-up on its own (what most POS
     systems print); the document's tax per rate is the sum of the lines'.
   * ``document``: each rate's tax is computed on the exact sum over all lines and rounded
     once; that amount is then allocated back to the lines by largest remainder, so each
     line's snapshot still carries whole units and the lines add up to the document figure.
     Tax offices that want tax "per rate on the invoice total" (EU VAT invoices) need this.

6. **Total** per line = net + exclusive tax; the cart's figures are the sums of the lines'.

Invariants (property-tested): ``total == subtotal - discount_total + tax_exclusive``, the
taxes per rate add up to ``tax_total``, and the lines add up to every cart figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hub.domain.pricing.allocation import allocate_by_weight, largest_remainder, round_half_up
from hub.domain.pricing.taxes import ExactTax, exact_line_taxes
from hub.domain.pricing.types import (
    Discount,
    LineTax,
    PricedCart,
    PricedLine,
    PricingError,
    PricingLine,
    RoundingScope,
)

HUNDRED = Decimal(100)


@dataclass(slots=True)
class _Work:
    """A line between the steps above."""

    line: PricingLine
    gross: int
    line_discount: int
    cart_discount: int = 0
    exact_taxes: tuple[ExactTax, ...] = ()
    tax_amounts: tuple[int, ...] = ()

    @property
    def after_line(self) -> int:
        return self.gross - self.line_discount

    @property
    def net(self) -> int:
        return self.gross - self.line_discount - self.cart_discount


def _discount_of(discount: Discount | None, amount: int, what: str) -> int:
    """What ``discount`` takes off ``amount`` (never more than ``amount``)."""
    if discount is None:
        return 0
    if discount.kind == "percent":
        if discount.percent is None or not 0 <= discount.percent <= HUNDRED:
            raise PricingError("invalid_discount", f"{what} discount must be a percentage between 0 and 100")
        return round_half_up(Decimal(amount) * discount.percent / HUNDRED)
    if discount.amount is None or discount.amount < 0:
        raise PricingError("invalid_discount", f"{what} discount must be a non-negative amount")
    if discount.amount > amount:
        raise PricingError(
            "discount_exceeds_amount",
            f"{what} discount of {discount.amount} is more than the {amount} it applies to",
        )
    return discount.amount


def _start(line: PricingLine) -> _Work:
    if line.unit_price < 0:
        raise PricingError("invalid_price", f"line {line.key}: a price cannot be negative")
    if line.quantity <= 0:
        raise PricingError("invalid_quantity", f"line {line.key}: quantity must be greater than 0")
    if not 0 <= line.gratis_quantity <= line.quantity:
        raise PricingError(
            "invalid_gratis", f"line {line.key}: gratis quantity must be between 0 and the quantity"
        )
    gross = round_half_up(line.quantity * line.unit_price)
    gratis = min(gross, round_half_up(line.gratis_quantity * line.unit_price))
    own = _discount_of(line.discount, gross - gratis, f"line {line.key}")
    return _Work(line=line, gross=gross, line_discount=gratis + own)


def _round_taxes(work: list[_Work], scope: RoundingScope) -> None:
    """Fill each line's whole-unit tax amounts from its exact ones."""
    if scope == "line":
        for w in work:
            w.tax_amounts = tuple(round_half_up(t.amount) for t in w.exact_taxes)
        return
    # Document scope: round each rate once over the whole document, then hand the units back
    # to the lines by largest remainder.
    positions: dict[int, list[tuple[int, int]]] = {}
    for li, w in enumerate(work):
        for ti, tax in enumerate(w.exact_taxes):
            positions.setdefault(tax.rate.id, []).append((li, ti))
    amounts = [[0] * len(w.exact_taxes) for w in work]
    for places in positions.values():
        exact = [work[li].exact_taxes[ti].amount for li, ti in places]
        shares = largest_remainder(exact, round_half_up(sum(exact, Decimal(0))))
        for (li, ti), share in zip(places, shares, strict=True):
            amounts[li][ti] = share
    for w, line_amounts in zip(work, amounts, strict=True):
        w.tax_amounts = tuple(line_amounts)


def _finish(w: _Work) -> PricedLine:
    net = w.net
    inclusive = sum(a for a, t in zip(w.tax_amounts, w.exact_taxes, strict=True) if t.rate.inclusive)
    exclusive = sum(w.tax_amounts) - inclusive
    base = net - inclusive  # the line's tax-free amount, in whole units
    taxes = []
    before = 0
    for amount, tax in zip(w.tax_amounts, w.exact_taxes, strict=True):
        rate = tax.rate
        taxes.append(
            LineTax(
                rate_id=rate.id,
                name=rate.name,
                rate=rate.rate,
                inclusive=rate.inclusive,
                base=base + before if rate.compound else base,
                amount=amount,
                compound=rate.compound,
            )
        )
        before += amount
    line = w.line
    return PricedLine(
        key=line.key,
        quantity=line.quantity,
        unit_price=line.unit_price,
        gratis_quantity=line.gratis_quantity,
        gross=w.gross,
        line_discount=w.line_discount,
        cart_discount=w.cart_discount,
        net=net,
        tax_exclusive=exclusive,
        tax_inclusive=inclusive,
        total=net + exclusive,
        taxes=tuple(taxes),
    )


def summarise_taxes(lines: Sequence[PricedLine]) -> tuple[LineTax, ...]:
    """One entry per rate (ordered by rate id): the sums of the lines' bases and amounts."""
    by_rate: dict[int, LineTax] = {}
    for line in lines:
        for tax in line.taxes:
            seen = by_rate.get(tax.rate_id)
            by_rate[tax.rate_id] = (
                tax
                if seen is None
                else LineTax(
                    rate_id=tax.rate_id,
                    name=tax.name,
                    rate=tax.rate,
                    inclusive=tax.inclusive,
                    base=seen.base + tax.base,
                    amount=seen.amount + tax.amount,
                    compound=tax.compound,
                )
            )
    return tuple(by_rate[rate_id] for rate_id in sorted(by_rate))


def price_cart(
    lines: Sequence[PricingLine], *, cart_discount: Discount | None = None, scope: RoundingScope = "line"
) -> PricedCart:
    """Price ``lines`` with an optional cart discount; see the module docstring for the rules."""
    if scope not in ("line", "document"):
        raise PricingError("invalid_rounding_scope", f"unknown rounding scope {scope!r}")
    work = [_start(line) for line in lines]
    if cart_discount is not None:
        if not work:
            raise PricingError("cart_empty", "an empty cart cannot take a discount")
        after = [w.after_line for w in work]
        total_off = _discount_of(cart_discount, sum(after), "cart")
        for w, share in zip(work, allocate_by_weight(total_off, after), strict=True):
            w.cart_discount = share
    for w in work:
        _, exact = exact_line_taxes(w.net, w.line.taxes)
        w.exact_taxes = tuple(exact)
    _round_taxes(work, scope)
    priced = tuple(_finish(w) for w in work)
    subtotal = sum(p.gross for p in priced)
    discount_total = sum(p.line_discount + p.cart_discount for p in priced)
    tax_exclusive = sum(p.tax_exclusive for p in priced)
    return PricedCart(
        lines=priced,
        subtotal=subtotal,
        discount_total=discount_total,
        tax_exclusive=tax_exclusive,
        tax_total=sum(p.tax_exclusive + p.tax_inclusive for p in priced),
        total=subtotal - discount_total + tax_exclusive,
        taxes=summarise_taxes(priced),
        scope=scope,
    )
