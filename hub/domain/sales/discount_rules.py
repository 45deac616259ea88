"""Manual discount limits (help center, "Discount Limits").

* Without a customer, the store's tiers cap the discount by the cart total before discounts
  (e.g. up to 5 % under 50.00, 10 % from 50.00, 15 % from 100.00).
* With a customer attached, the customer's own maximum applies, or the store's customer maximum.
* Promo products take no manual discount without a customer: neither on their line nor as part
  of a cart discount.
A fixed-amount discount is checked as the percentage it makes of what it applies to.
"""

from __future__ import annotations

from decimal import Decimal

from hub.domain.money import HUNDRED, parse_percent
from hub.domain.sales.errors import Invalid, SalesError
from hub.domain.sales.schemas import DiscountIn
from hub.domain.store_settings import StoreSettings


def discount_percent(discount: DiscountIn, applies_to: int) -> Decimal:
    """The discount as a percentage of ``applies_to`` (minor units)."""
    if discount.kind == "percent":
        if discount.percent is None or discount.amount is not None:
            raise Invalid("invalid_discount", "a percent discount takes `percent` only")
        return parse_percent(discount.percent)
    if discount.amount is None or discount.percent is not None:
        raise Invalid("invalid_discount", "an amount discount takes `amount` only")
    if discount.amount > applies_to:
        raise Invalid("discount_exceeds_amount", "the discount is larger than what it applies to")
    if applies_to == 0:
        return Decimal(0)
    return Decimal(discount.amount) * HUNDRED / Decimal(applies_to)


def allowed_percent(
    settings: StoreSettings, *, cart_total: int, customer_max: Decimal | None, has_customer: bool
) -> Decimal:
    """The largest manual discount this cart may get."""
    if has_customer:
        return (
            customer_max
            if customer_max is not None
            else parse_percent(settings.customer_max_discount_percent)
        )
    best = Decimal(0)
    for tier in settings.discount_tiers:
        if cart_total >= tier.min_total:
            best = max(best, parse_percent(tier.max_percent))
    return best


def check_discount(
    discount: DiscountIn,
    *,
    applies_to: int,
    cart_total: int,
    settings: StoreSettings,
    has_customer: bool,
    customer_max: Decimal | None,
    touches_promo: bool,
) -> None:
    """Raise unless ``discount`` is within the limits for this cart."""
    percent = discount_percent(discount, applies_to)
    if touches_promo and not has_customer and percent > 0:
        raise SalesError(
            "promo_needs_customer", "promo products take a discount only with a customer attached"
        )
    limit = allowed_percent(
        settings, cart_total=cart_total, customer_max=customer_max, has_customer=has_customer
    )
    if percent > limit:
        raise SalesError(
            "discount_limit",
            f"a {percent.quantize(Decimal('0.01'))} % discount exceeds the {limit} % allowed for this cart",
        )
