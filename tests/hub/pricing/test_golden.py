"""Golden examples worked by hand: Bosnia (17 % PDV inclusive, KM), Finland (cash rounding to
0.05 on cash only) and Germany (19 % and 7 % in one cart with a cart discount across both)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.domain.pricing import (
    Discount,
    PricingError,
    PricingLine,
    TaxRate,
    cash_rounding,
    price_cart,
    refund_slice,
)
from hub.domain.sales.tenders import PaymentRequest, Tender, settle

PDV = TaxRate(id=1, name="PDV", rate=Decimal(17), inclusive=True)
DE19 = TaxRate(id=19, name="MwSt 19%", rate=Decimal(19), inclusive=True)
DE7 = TaxRate(id=7, name="MwSt 7%", rate=Decimal(7), inclusive=True)


def line(key: str, price: int, qty: str = "1", *taxes: TaxRate, **extra: object) -> PricingLine:
    return PricingLine(key=key, unit_price=price, quantity=Decimal(qty), taxes=taxes, **extra)  # type: ignore[arg-type]


def test_bosnia_pdv_inclusive_in_km() -> None:
    # Cevapi 11.70 KM and 3 x juice 2.50 KM, prices include 17 % PDV.
    cart = price_cart([line("cevapi", 1170, "1", PDV), line("sok", 250, "3", PDV)])
    assert cart.subtotal == 1920 and cart.total == 1920 and cart.discount_total == 0
    # 11.70 / 1.17 = 10.00 base, 1.70 PDV; 7.50 / 1.17 = 6.4103 base, 1.0897 -> 1.09 PDV.
    assert [(t.base, t.amount) for t in cart.lines[0].taxes] == [(1000, 170)]
    assert [(t.base, t.amount) for t in cart.lines[1].taxes] == [(641, 109)]
    assert [(t.name, t.base, t.amount) for t in cart.taxes] == [("PDV", 1641, 279)]
    assert cart.tax_total == 279 and cart.tax_exclusive == 0


def test_bosnia_rounding_scope_line_versus_document() -> None:
    # Three 1.00 KM items: each line's PDV is 0.14530 -> 0.15 per line (0.45), while the
    # document's PDV is 3.00 / 1.17 -> 0.4359 -> 0.44, handed back by largest remainder.
    lines = [line(k, 100, "1", PDV) for k in "abc"]
    per_line = price_cart(lines, scope="line")
    per_document = price_cart(lines, scope="document")
    assert per_line.tax_total == 45
    assert per_document.tax_total == 44
    assert [ln.taxes[0].amount for ln in per_document.lines] == [15, 15, 14]
    assert per_line.total == per_document.total == 300


def test_germany_cart_discount_spread_across_both_rates() -> None:
    # 100.00 EUR at 19 % and 50.00 EUR at 7 % (gross prices), 10.00 EUR off the cart.
    cart = price_cart(
        [line("wine", 10000, "1", DE19), line("bread", 5000, "1", DE7)],
        cart_discount=Discount(kind="amount", amount=1000),
    )
    # The discount follows what each line costs: 2/3 and 1/3 -> 6.67 and 3.33.
    assert [ln.cart_discount for ln in cart.lines] == [667, 333]
    assert [ln.net for ln in cart.lines] == [9333, 4667]
    # 93.33 x 19/119 = 14.9014 -> 14.90; 46.67 x 7/107 = 3.0532 -> 3.05.
    assert [(t.name, t.base, t.amount) for t in cart.taxes] == [
        ("MwSt 7%", 4362, 305),
        ("MwSt 19%", 7843, 1490),
    ]
    assert cart.total == 14000 and cart.discount_total == 1000 and cart.tax_total == 1795


def test_germany_percent_cart_discount() -> None:
    cart = price_cart(
        [line("wine", 1999, "3", DE19), line("bread", 349, "2", DE7)],
        cart_discount=Discount(kind="percent", percent=Decimal(10)),
    )
    # 59.97 + 6.98 = 66.95; 10 % = 6.695 -> 6.70, split by cost 6.0014 / 0.6985: the one unit
    # left after rounding down goes to the larger remainder -> 6.00 / 0.70.
    assert cart.discount_total == 670
    assert [ln.cart_discount for ln in cart.lines] == [600, 70]
    assert cart.total == 6025


@pytest.mark.parametrize(("amount", "expected"), [(102, 100), (103, 105), (107, 105), (108, 110), (100, 100)])
def test_finland_cash_rounding(amount: int, expected: int) -> None:
    assert cash_rounding(amount, 5) == expected


def test_finland_rounding_applies_to_cash_never_to_card() -> None:
    cash = Tender(
        id="cash",
        name="Käteinen",
        tender_type="cash",
        rounding=5,
        change_type="tender",
        change_tender="cash",
        over_tender=True,
    )
    card = Tender(id="card", name="Kortti", tender_type="card", eft=True)
    tenders = {"cash": cash, "card": card}
    by_cash = settle(102, [PaymentRequest(tender_id="cash", amount=100)], tenders)
    assert by_cash.rounding == -2 and by_cash.paid_total == 100 and by_cash.balance_due == 0
    by_card = settle(102, [PaymentRequest(tender_id="card", amount=102)], tenders)
    assert by_card.rounding == 0 and by_card.paid_total == 102
    with pytest.raises(Exception, match="100"):
        settle(102, [PaymentRequest(tender_id="card", amount=100)], tenders)


def test_exclusive_and_compound_taxes() -> None:
    # Quebec style: GST 5 % then QST 9.975 % on price plus GST (compound, later priority).
    gst = TaxRate(id=1, name="GST", rate=Decimal(5), inclusive=False, priority=1)
    qst = TaxRate(id=2, name="QST", rate=Decimal("9.975"), inclusive=False, compound=True, priority=2)
    cart = price_cart([line("item", 10000, "1", qst, gst)])
    # GST 5.00; QST on 105.00 = 10.47375 -> 10.47.
    assert [(t.name, t.base, t.amount) for t in cart.lines[0].taxes] == [
        ("GST", 10000, 500),
        ("QST", 10500, 1047),
    ]
    assert cart.total == 11547 and cart.tax_exclusive == 1547


def test_gratis_unit_costs_nothing_and_weighed_quantity_rounds_half_up() -> None:
    cart = price_cart(
        [line("coffee", 500, "2", PDV, gratis_quantity=Decimal(1)), line("cheese", 1890, "0.255", PDV)]
    )
    assert (cart.lines[0].gross, cart.lines[0].line_discount, cart.lines[0].net) == (1000, 500, 500)
    # 0.255 kg x 18.90 = 4.8195 -> 4.82
    assert cart.lines[1].gross == 482


def test_partial_refunds_return_exactly_what_was_paid() -> None:
    cart = price_cart([line("sok", 333, "3", PDV)], cart_discount=Discount(kind="amount", amount=100))
    sold = cart.lines[0]
    slices = [refund_slice(sold, Decimal(3), Decimal(k), Decimal(1)) for k in range(3)]
    assert sum(s.total for s in slices) == sold.total
    assert sum(s.discount for s in slices) == sold.line_discount + sold.cart_discount
    assert sum(s.taxes[0].amount for s in slices) == sold.taxes[0].amount
    with pytest.raises(PricingError) as info:
        refund_slice(sold, Decimal(3), Decimal(2), Decimal(2))
    assert info.value.code == "refund_exceeds_sold"


@pytest.mark.parametrize(
    ("lines", "discount", "code"),
    [
        ([line("a", -1, "1")], None, "invalid_price"),
        ([line("a", 100, "0")], None, "invalid_quantity"),
        (
            [line("a", 100, "1", discount=Discount(kind="amount", amount=101))],
            None,
            "discount_exceeds_amount",
        ),
        ([line("a", 100, "1")], Discount(kind="amount", amount=101), "discount_exceeds_amount"),
        ([line("a", 100, "1", PDV, PDV)], None, "duplicate_tax_rate"),
    ],
)
def test_bad_input_is_a_typed_error(lines: list[PricingLine], discount: Discount | None, code: str) -> None:
    with pytest.raises(PricingError) as info:
        price_cart(lines, cart_discount=discount)
    assert info.value.code == code
