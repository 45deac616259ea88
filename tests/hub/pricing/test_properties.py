"""Property tests over random carts: the pricing invariants hold for every cart, both scopes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.pricing import (
    Discount,
    PricedCart,
    PricedLine,
    PricingLine,
    RoundingScope,
    TaxRate,
    price_cart,
    refund_slice,
)

RATES = [
    TaxRate(id=1, name="PDV 17", rate=Decimal(17), inclusive=True),
    TaxRate(id=2, name="VAT 24", rate=Decimal(24), inclusive=True),
    TaxRate(id=3, name="MwSt 7", rate=Decimal(7), inclusive=True),
    TaxRate(id=4, name="Sales 8.875", rate=Decimal("8.875"), inclusive=False),
    TaxRate(id=5, name="GST 5", rate=Decimal(5), inclusive=False, priority=1),
    TaxRate(id=6, name="QST 9.975", rate=Decimal("9.975"), inclusive=False, compound=True, priority=2),
    TaxRate(id=7, name="Zero", rate=Decimal(0), inclusive=True),
]

quantities = st.one_of(
    st.integers(min_value=1, max_value=50).map(Decimal),
    st.integers(min_value=1, max_value=25_000).map(lambda g: Decimal(g).scaleb(-3)),
)
tax_sets = st.one_of(
    st.just(()),
    st.sampled_from(RATES).map(lambda r: (r,)),
    st.just((RATES[4], RATES[5])),
    st.just((RATES[0], RATES[3])),
)


@st.composite
def pricing_lines(draw: st.DrawFn, index: int) -> PricingLine:
    price = draw(st.integers(min_value=0, max_value=500_000))
    quantity = draw(quantities)
    gross = int((price * quantity).to_integral_value())
    gratis = Decimal(1) if quantity >= 1 and draw(st.booleans()) and draw(st.booleans()) else Decimal(0)
    discount = draw(
        st.one_of(
            st.none(),
            st.integers(min_value=0, max_value=100).map(
                lambda p: Discount(kind="percent", percent=Decimal(p))
            ),
            st.integers(min_value=0, max_value=gross // 2).map(lambda a: Discount(kind="amount", amount=a)),
        )
    )
    # A fixed discount is never more than the line costs after its gratis unit.
    if discount is not None and discount.kind == "amount" and gratis:
        discount = None
    return PricingLine(
        key=str(index),
        unit_price=price,
        quantity=quantity,
        taxes=draw(tax_sets),
        gratis_quantity=gratis,
        discount=discount,
    )


@st.composite
def carts(draw: st.DrawFn) -> tuple[list[PricingLine], Discount | None, RoundingScope]:
    count = draw(st.integers(min_value=1, max_value=12))
    lines = [draw(pricing_lines(i)) for i in range(count)]
    cart_discount = draw(
        st.one_of(
            st.none(),
            st.integers(min_value=0, max_value=100).map(
                lambda p: Discount(kind="percent", percent=Decimal(p))
            ),
            st.integers(min_value=0, max_value=200).map(lambda a: Discount(kind="amount", amount=a)),
        )
    )
    if cart_discount is not None and cart_discount.kind == "amount":
        # Only as much as the cart costs after line discounts.
        probe = price_cart(lines)
        cart_discount = Discount(
            kind="amount", amount=min(cart_discount.amount or 0, probe.total - probe.tax_exclusive)
        )
    return lines, cart_discount, draw(st.sampled_from(["line", "document"]))


def no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(no_floats(v) for v in value)
    return True


@settings(max_examples=300, deadline=None)
@given(carts())
def test_totals_add_up(cart_input: tuple[list[PricingLine], Discount | None, RoundingScope]) -> None:
    lines, discount, scope = cart_input
    cart = price_cart(lines, cart_discount=discount, scope=scope)
    # Lines minus discounts plus exclusive taxes equal the total.
    assert cart.total == cart.subtotal - cart.discount_total + cart.tax_exclusive
    assert cart.total == sum(line.total for line in cart.lines)
    # Tax per rate sums to the total tax, and to the lines' taxes.
    assert sum(tax.amount for tax in cart.taxes) == cart.tax_total
    assert cart.tax_total == sum(t.amount for line in cart.lines for t in line.taxes)
    for line in cart.lines:
        assert line.net == line.gross - line.line_discount - line.cart_discount >= 0
        assert line.total == line.net + line.tax_exclusive
        # What is inside the price is the tax-free base plus the inclusive taxes.
        simple = [t for t in line.taxes if not t.compound]
        if simple:
            assert simple[0].base + line.tax_inclusive == line.net
    # No float anywhere: not in the values, not in what is stored or synced.
    assert no_floats(msgspec.to_builtins(cart))
    for line in cart.lines:
        assert all(isinstance(v, int) for v in (line.gross, line.net, line.total, line.cart_discount))
        assert isinstance(line.quantity, Decimal)


@settings(max_examples=200, deadline=None)
@given(carts())
def test_rounding_stays_within_half_a_unit(
    cart_input: tuple[list[PricingLine], Discount | None, RoundingScope],
) -> None:
    lines, discount, scope = cart_input
    cart = price_cart(lines, cart_discount=discount, scope=scope)
    exact: dict[int, Decimal] = {}
    for line in cart.lines:
        inclusive = sum((t.rate for t in line.taxes if t.inclusive and not t.compound), Decimal(0))
        compound = any(t.compound for t in line.taxes)
        if compound or not line.taxes:
            continue
        base = Decimal(line.net) / (1 + inclusive / 100)
        for tax in line.taxes:
            value = base * tax.rate / 100
            exact[tax.rate_id] = exact.get(tax.rate_id, Decimal(0)) + value
            if scope == "line":
                assert abs(tax.amount - value) <= Decimal("0.5")
    if scope == "document" and not any(t.compound for line in cart.lines for t in line.taxes):
        for tax in cart.taxes:
            assert abs(tax.amount - exact[tax.rate_id]) <= Decimal("0.5")


@st.composite
def splits(draw: st.DrawFn, total: int) -> list[int]:
    parts = []
    left = total
    while left > 0:
        part = draw(st.integers(min_value=1, max_value=left))
        parts.append(part)
        left -= part
    return parts


@settings(max_examples=200, deadline=None)
@given(carts(), st.data())
def test_full_refund_in_any_parts_returns_everything(
    cart_input: tuple[list[PricingLine], Discount | None, RoundingScope], data: st.DataObject
) -> None:
    lines, discount, scope = cart_input
    cart: PricedCart = price_cart(lines, cart_discount=discount, scope=scope)
    remaining = {
        "subtotal": cart.subtotal,
        "discount": cart.discount_total,
        "total": cart.total,
        "tax": cart.tax_total,
    }
    for sold in cart.lines:
        sold_line: PricedLine = msgspec.json.decode(msgspec.json.encode(sold), type=PricedLine)  # as stored
        whole = sold.quantity == sold.quantity.to_integral_value()
        parts = [Decimal(p) for p in data.draw(splits(int(sold.quantity)))] if whole else [sold.quantity]
        already = Decimal(0)
        for part in parts:
            back = refund_slice(sold_line, sold.quantity, already, part)
            already += part
            assert back.net == back.gross - back.discount
            assert back.total == back.net + sum(t.amount for t in back.taxes if not t.inclusive)
            remaining["subtotal"] -= back.gross
            remaining["discount"] -= back.discount
            remaining["total"] -= back.total
            remaining["tax"] -= sum(t.amount for t in back.taxes)
    assert remaining == {"subtotal": 0, "discount": 0, "total": 0, "tax": 0}
