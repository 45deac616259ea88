"""The pricing engine's values: tax rates, discounts, lines in and priced lines out.

All amounts are ``int`` minor units, quantities and rates ``Decimal`` (principle 5). The
priced values are msgspec Structs because a :class:`PricedLine` is stored as the line's tax
snapshot on the sale and decoded again by refunds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

RoundingScope = Literal["line", "document"]


class PricingError(ValueError):
    """Input the engine cannot price (a discount above the amount, a negative price, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TaxRate(msgspec.Struct, frozen=True, kw_only=True):
    """A tax rate as the catalog resolves it for a product.

    ``rate`` is a percentage ("17" means 17 %). An ``inclusive`` rate is contained in the price
    (Europe's gross prices); an exclusive one is added on top. A ``compound`` rate is levied on
    the base plus the taxes of lower ``priority`` (Quebec's QST on GST); rates are applied in
    ascending priority, ties broken by id.
    """

    id: int
    name: str
    rate: Decimal
    inclusive: bool
    compound: bool = False
    priority: int = 0


class Discount(msgspec.Struct, frozen=True, kw_only=True):
    """A manual (or, later, automatic) discount: a percentage or a fixed amount."""

    kind: Literal["percent", "amount"]
    percent: Decimal | None = None
    amount: int | None = None
    source: str = "manual"


class PricingLine(msgspec.Struct, frozen=True, kw_only=True):
    """One cart line as the engine takes it."""

    key: str
    unit_price: int
    quantity: Decimal
    taxes: tuple[TaxRate, ...] = ()
    gratis_quantity: Decimal = Decimal(0)
    discount: Discount | None = None


class LineTax(msgspec.Struct, frozen=True, kw_only=True):
    """The tax one line (or one document) carries at one rate: ``base`` net of tax."""

    rate_id: int
    name: str
    rate: Decimal
    inclusive: bool
    base: int
    amount: int
    compound: bool = False


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    """A priced line; stored on the sale line as its snapshot.

    ``gross`` is quantity x unit price; ``line_discount`` is the gratis units plus the line's
    own discount, ``cart_discount`` this line's share of the cart discount; ``net`` = gross -
    both discounts, the price the customer pays before exclusive taxes; ``total`` = net +
    exclusive tax. Inclusive tax is inside ``net``.
    """

    key: str
    quantity: Decimal
    unit_price: int
    gratis_quantity: Decimal
    gross: int
    line_discount: int
    cart_discount: int
    net: int
    tax_exclusive: int
    tax_inclusive: int
    total: int
    taxes: tuple[LineTax, ...]

    @property
    def discount(self) -> int:
        return self.line_discount + self.cart_discount


class PricedCart(msgspec.Struct, frozen=True, kw_only=True):
    """Every total the hub shows, prints or syncs for one cart.

    ``subtotal`` is the sum of gross; ``total`` = subtotal - discount_total + exclusive tax;
    ``tax_total`` is all tax (inclusive and exclusive); ``taxes`` has one entry per rate.
    """

    lines: tuple[PricedLine, ...]
    subtotal: int
    discount_total: int
    tax_exclusive: int
    tax_total: int
    total: int
    taxes: tuple[LineTax, ...]
    scope: RoundingScope


class RefundAmounts(msgspec.Struct, frozen=True, kw_only=True):
    """What refunding some units of a sold line gives back (positive numbers)."""

    quantity: Decimal
    gross: int
    discount: int
    net: int
    total: int
    taxes: tuple[LineTax, ...]
