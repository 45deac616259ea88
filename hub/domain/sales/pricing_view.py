"""A cart priced by the one pricing function, and its API view.

Cart lines become :class:`~hub.domain.pricing.PricingLine` values with the taxes the catalog
resolves for each product (rate, group or the default rate); the store's rounding scope comes
from the settings. Nothing here computes money itself: totals, discounts and taxes all come
from :func:`hub.domain.pricing.price_cart`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hub.domain.money import format_percent, format_quantity, parse_percent
from hub.domain.pricing import Discount, PricedCart, PricingError, PricingLine, price_cart
from hub.domain.sales.cart_store import CartRow, LineRow
from hub.domain.sales.errors import Invalid
from hub.domain.sales.ports import AutomaticDiscounts, CatalogPort, NoAutomaticDiscounts
from hub.domain.sales.schemas import CartLineView, CartView, DiscountIn, TaxView
from hub.domain.store_settings import StoreSettings


def to_discount(discount: DiscountIn | None) -> Discount | None:
    if discount is None:
        return None
    if discount.kind == "percent":
        if discount.percent is None or discount.amount is not None:
            raise Invalid("invalid_discount", "a percent discount takes `percent` only")
        return Discount(kind="percent", percent=parse_percent(discount.percent))
    if discount.amount is None or discount.percent is not None:
        raise Invalid("invalid_discount", "an amount discount takes `amount` only")
    return Discount(kind="amount", amount=discount.amount)


@dataclass(frozen=True, slots=True)
class PricedCartResult:
    cart: CartRow
    lines: list[LineRow]
    priced: PricedCart
    view: CartView


class CartPricer:
    """Prices carts; caches each product's resolved taxes for the life of the pricer."""

    def __init__(self, catalog: CatalogPort, automatic: AutomaticDiscounts | None = None) -> None:
        self._catalog = catalog
        self._automatic: AutomaticDiscounts = automatic or NoAutomaticDiscounts()

    async def pricing_lines(self, lines: list[LineRow]) -> list[PricingLine]:
        result = []
        for line in lines:
            taxes = await self._catalog.taxes_for(line.product_id, line.variant_id)
            result.append(
                PricingLine(
                    key=str(line.id),
                    unit_price=line.unit_price,
                    quantity=line.quantity,
                    taxes=taxes,
                    gratis_quantity=Decimal(1) if line.gratis else Decimal(0),
                    discount=to_discount(line.discount),
                )
            )
        return result

    async def price(self, cart: CartRow, lines: list[LineRow], settings: StoreSettings) -> PricedCartResult:
        pricing_lines, automatic = await self._automatic.apply(
            await self.pricing_lines(lines), customer_id=cart.customer_id
        )
        manual = to_discount(cart.discount) if lines else None
        try:
            priced = price_cart(
                pricing_lines,
                cart_discount=manual or (automatic if lines else None),
                scope=settings.rounding_scope,
            )
        except PricingError as exc:
            raise Invalid(exc.code, str(exc)) from None
        views = [
            CartLineView(
                id=line.id,
                product_id=line.product_id,
                variant_id=line.variant_id,
                name=line.name,
                quantity=format_quantity(line.quantity),
                unit_price=line.unit_price,
                price_overridden=line.price_overridden,
                gratis=line.gratis,
                discount=line.discount,
                note=line.note,
                gross=priced_line.gross,
                discount_total=priced_line.gross - priced_line.net,
                net=priced_line.net,
                total=priced_line.total,
            )
            for line, priced_line in zip(lines, priced.lines, strict=True)
        ]
        view = CartView(
            id=cart.id,
            terminal_id=cart.terminal_id,
            state=cart.state,
            training=cart.training,
            customer_id=cart.customer_id,
            discount=cart.discount,
            hold_note=cart.hold_note,
            lines=views,
            subtotal=priced.subtotal,
            discount_total=priced.discount_total,
            tax_total=priced.tax_total,
            total=priced.total,
            taxes=tax_views(priced),
            currency=settings.currency,
            sale_id=cart.sale_id,
            created_at=cart.created_at,
            updated_at=cart.updated_at,
        )
        return PricedCartResult(cart, lines, priced, view)


def tax_views(priced: PricedCart) -> list[TaxView]:
    return [
        TaxView(
            rate_id=tax.rate_id,
            name=tax.name,
            rate=format_percent(tax.rate),
            inclusive=tax.inclusive,
            base=tax.base,
            amount=tax.amount,
        )
        for tax in priced.taxes
    ]
