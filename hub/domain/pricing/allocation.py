"""Splitting an amount across lines without losing or inventing a minor unit.

Document-scope rounding and cart discounts both need to turn exact (Decimal) shares into whole
minor units that add up to a given total. The largest-remainder method (Hamilton's) does it:
every share is rounded down, then the units still missing go one each to the shares with the
largest fractional parts; ties go to the earlier line, so the result is deterministic and does
not depend on anything but the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

ONE = Decimal(1)


def round_half_up(value: Decimal) -> int:
    """Commercial rounding to a whole minor unit (0.5 goes away from zero)."""
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def largest_remainder(exact: Sequence[Decimal], total: int) -> list[int]:
    """Whole shares of ``total`` following the exact (non-negative) shares ``exact``.

    ``sum(result) == total`` always holds, and no share moves by a whole unit or more from its
    exact value when ``total`` is the rounded sum of the shares.
    """
    if not exact:
        if total != 0:
            raise ValueError("cannot allocate a non-zero total over no shares")
        return []
    if any(share < 0 for share in exact):
        raise ValueError("shares must be non-negative")
    weight = sum(exact, Decimal(0))
    if weight == 0:
        # Nothing to weigh by: spread evenly, earlier lines first.
        base, extra = divmod(total, len(exact))
        return [base + (1 if i < extra else 0) for i in range(len(exact))]
    floors = _floors(exact)
    missing = total - sum(floors)
    if not 0 <= missing <= len(exact):
        # The total is not the rounded sum of the shares (a discount split by weight):
        # scale the shares to the total first.
        exact = [share * total / weight for share in exact]
        floors = _floors(exact)
        missing = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += 1
    return floors


def _floors(exact: Sequence[Decimal]) -> list[int]:
    return [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]


def allocate_by_weight(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to integer ``weights`` (a cart discount over line nets)."""
    return largest_remainder([Decimal(w) for w in weights], total)
