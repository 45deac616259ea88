"""Per-line tax arithmetic: inclusive, exclusive, compound and priority.

Rates apply in ascending ``priority`` (ties by id). A simple rate is levied on the line's
tax-free base B; a compound rate on B plus the taxes applied before it. Every tax is therefore
a fixed multiple of B, its *coefficient*, which lets one formula serve all cases:

* the inclusive taxes are inside the price: ``net = B x (1 + sum of inclusive coefficients)``,
  so B is found by division;
* the exclusive taxes are added on top: ``coefficient x B`` each.

The results here are exact Decimals; :mod:`hub.domain.pricing.engine` rounds them per line or
per document as the store's rounding scope says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hub.domain.pricing.types import PricingError, TaxRate

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ExactTax:
    """One rate's exact tax on one line, and the exact base it was levied on."""

    rate: TaxRate
    base: Decimal
    amount: Decimal


def ordered(rates: Sequence[TaxRate]) -> list[TaxRate]:
    """Rates in the order they apply; the same rate twice is an error."""
    ids = [rate.id for rate in rates]
    if len(set(ids)) != len(ids):
        raise PricingError("duplicate_tax_rate", "a line cannot carry the same tax rate twice")
    for rate in rates:
        if rate.rate < 0 or rate.rate > HUNDRED:
            raise PricingError("invalid_tax_rate", f"tax rate {rate.name} must be between 0 and 100")
    return sorted(rates, key=lambda rate: (rate.priority, rate.id))


def coefficients(rates: Sequence[TaxRate]) -> list[Decimal]:
    """Each rate's tax as a multiple of the base, in application order."""
    result: list[Decimal] = []
    for rate in rates:
        fraction = rate.rate / HUNDRED
        result.append(fraction * (1 + sum(result, Decimal(0))) if rate.compound else fraction)
    return result


def exact_line_taxes(net: int, rates: Sequence[TaxRate]) -> tuple[Decimal, list[ExactTax]]:
    """(exact base B, exact tax per rate) of a line whose price after discounts is ``net``."""
    applied = ordered(rates)
    coeffs = coefficients(applied)
    inclusive = sum((c for c, r in zip(coeffs, applied, strict=True) if r.inclusive), Decimal(0))
    base = Decimal(net) / (1 + inclusive)
    taxes = []
    before = Decimal(0)
    for coeff, rate in zip(coeffs, applied, strict=True):
        amount = coeff * base
        # A compound rate's taxable amount includes the taxes applied before it.
        taxes.append(ExactTax(rate=rate, base=base + before if rate.compound else base, amount=amount))
        before += amount
    return base, taxes
