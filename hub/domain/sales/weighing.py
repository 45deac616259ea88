"""Selling by weight: what a scale reading may be sold as.

Only a stable weight is sold; an overloaded, underloaded or empty platform is refused. The
weight becomes the line's quantity in kilograms with three decimals (grams, rounded half up from
the scale's milligrams), and the line's price is unit price x quantity rounded to minor units
half up, as for any decimal quantity. The weight is also the line's note, so the receipt prints
it on the line and a second weighing of the same product is a line of its own.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import msgspec

from drivers.base import Weight
from hub.domain.errors import Conflict, Invalid
from hub.domain.sales.schemas import LineAdd


def weighed_quantity(weight: Weight) -> str:
    """The quantity in kg ("1.234") a stable reading is sold as; raises a domain error otherwise."""
    if weight.overload:
        raise Conflict("scale_overload", "the scale is overloaded; take something off")
    if weight.underload:
        raise Conflict("scale_underload", "the scale reads below zero; zero it first")
    if not weight.stable:
        raise Conflict("weight_unstable", "the weight is still moving; wait until it settles",
                       details={"milligrams": weight.milligrams})  # fmt: skip
    grams = (Decimal(weight.milligrams) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if grams <= 0:
        raise Invalid("weight_zero", "nothing is on the scale")
    return f"{grams / 1000:.3f}"


def weighed_line(request: LineAdd, weight: Weight) -> LineAdd:
    """``request`` with the weight as its quantity and its note."""
    quantity = weighed_quantity(weight)
    note = f"{quantity} kg" + (f" {request.note}" if request.note else "")
    return msgspec.structs.replace(request, quantity=quantity, note=note[:200], weigh=False)
