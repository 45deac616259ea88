"""The one pricing function: every total the hub shows, prints or syncs comes from here.

Pure: no I/O, no clock, no floats. :func:`price_cart` documents the order of operations and the
two rounding scopes; :func:`refund_slice` reverses a sold line's snapshot; :func:`cash_rounding`
is the cash tender's rounding to an increment.
"""

from hub.domain.pricing.engine import price_cart, summarise_taxes
from hub.domain.pricing.refund import cash_rounding, refund_slice
from hub.domain.pricing.types import (
    Discount,
    LineTax,
    PricedCart,
    PricedLine,
    PricingError,
    PricingLine,
    RefundAmounts,
    RoundingScope,
    TaxRate,
)

__all__ = [
    "Discount",
    "LineTax",
    "PricedCart",
    "PricedLine",
    "PricingError",
    "PricingLine",
    "RefundAmounts",
    "RoundingScope",
    "TaxRate",
    "cash_rounding",
    "price_cart",
    "refund_slice",
    "summarise_taxes",
]
