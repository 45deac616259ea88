"""Tender rules (seed 001): use, change, rounding, over- and under-tender, split payments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.pricing import cash_rounding
from hub.domain.sales.tenders import PaymentRequest, Tender, TenderError, settle

CASH = Tender(
    id="cash",
    name="Cash",
    tender_type="cash",
    cashdrawer="force_open",
    change_type="tender",
    change_tender="cash",
    over_tender=True,
)
CASH_FI = Tender(
    id="cash",
    name="Käteinen",
    tender_type="cash",
    cashdrawer="force_open",
    change_type="tender",
    over_tender=True,
    rounding=5,
)
CARD = Tender(id="card", name="Card", tender_type="card", eft=True)
INVOICE = Tender(
    id="invoice", name="Invoice", tender_type="invoice", tender_use="only_this", under_tender=True
)
VOUCHER = Tender(
    id="voucher", name="Voucher", tender_type="voucher", tender_use="single", require_comment=True
)
TIP = Tender(id="tip", name="Card with tip", tender_type="card", over_tender=True, change_type="overpay")


def pay(tender: str, amount: int, comment: str = "") -> PaymentRequest:
    return PaymentRequest(tender_id=tender, amount=amount, comment=comment)


def tenders(*items: Tender) -> dict[str, Tender]:
    return {t.id: t for t in items}


@pytest.mark.parametrize(("amount", "expected"), [(102, 100), (103, 105), (107, 105), (108, 110), (100, 100)])
def test_finnish_cash_rounding_golden(amount: int, expected: int) -> None:
    assert cash_rounding(amount, 5) == expected
    result = settle(amount, [pay("cash", expected)], tenders(CASH_FI, CARD))
    assert result.paid_total == expected
    assert result.rounding == expected - amount
    assert result.change_total == 0 and result.balance_due == 0


def test_card_is_never_rounded() -> None:
    result = settle(102, [pay("card", 102)], tenders(CASH_FI, CARD))
    assert (result.paid_total, result.rounding) == (102, 0)
    with pytest.raises(TenderError) as caught:
        settle(102, [pay("card", 100)], tenders(CASH_FI, CARD))
    assert caught.value.code == "underpaid"


def test_cash_gives_change_and_opens_the_drawer() -> None:
    result = settle(1730, [pay("cash", 2000)], tenders(CASH, CARD))
    assert (result.paid_total, result.change_total, result.open_drawer) == (1730, 270, True)
    assert result.payments[0].tendered == 2000


def test_card_cannot_overpay_and_does_not_open_the_drawer() -> None:
    with pytest.raises(TenderError) as caught:
        settle(1730, [pay("card", 2000)], tenders(CASH, CARD))
    assert caught.value.code == "over_tender_not_allowed"
    assert not settle(1730, [pay("card", 1730)], tenders(CASH, CARD)).open_drawer


def test_overpay_tender_keeps_the_excess() -> None:
    result = settle(1000, [pay("tip", 1200)], tenders(TIP))
    assert (result.paid_total, result.change_total) == (1200, 0)


def test_mix_must_sum_exactly() -> None:
    result = settle(5000, [pay("card", 3000), pay("cash", 2000)], tenders(CASH, CARD))
    assert result.paid_total == 5000 and result.change_total == 0 and result.open_drawer
    for payments in ([pay("card", 3000), pay("cash", 2500)], [pay("card", 3000), pay("cash", 1500)]):
        with pytest.raises(TenderError) as caught:
            settle(5000, payments, tenders(CASH, CARD))
        assert caught.value.code in ("split_must_be_exact", "underpaid")


def test_mix_with_cash_rounding_rounds_only_the_cash_part() -> None:
    # 10.02 due: 5.00 by card, the 5.02 left in cash rounds to 5.00.
    result = settle(1002, [pay("card", 500), pay("cash", 500)], tenders(CASH_FI, CARD))
    assert (result.paid_total, result.rounding) == (1000, -2)
    assert [p.rounding for p in result.payments] == [0, -2]


def test_under_tender_leaves_a_balance_only_where_allowed() -> None:
    result = settle(5000, [pay("invoice", 1000)], tenders(INVOICE))
    assert (result.paid_total, result.balance_due) == (1000, 4000)
    with pytest.raises(TenderError) as caught:
        settle(5000, [pay("cash", 1000)], tenders(CASH))
    assert caught.value.code == "underpaid"


def test_tender_use_and_comments() -> None:
    with pytest.raises(TenderError) as caught:
        settle(5000, [pay("cash", 1000), pay("invoice", 4000)], tenders(CASH, INVOICE))
    assert caught.value.code == "tender_only_this"
    with pytest.raises(TenderError) as caught:
        settle(5000, [pay("voucher", 1000, "V1"), pay("voucher", 4000, "V2")], tenders(VOUCHER))
    assert caught.value.code == "tender_single"
    with pytest.raises(TenderError) as caught:
        settle(1000, [pay("voucher", 1000)], tenders(VOUCHER))
    assert caught.value.code == "comment_required"


def test_bad_payments_are_refused() -> None:
    for payments, code in (
        ([], "no_payment"),
        ([pay("bitcoin", 100)], "unknown_tender"),
        ([pay("cash", 0)], "invalid_amount"),
        ([pay("cash", 2000), pay("card", 100)], "payment_after_settled"),
    ):
        with pytest.raises(TenderError) as caught:
            settle(1000, payments, tenders(CASH, CARD))
        assert caught.value.code == code


@given(
    st.integers(min_value=1, max_value=10**7),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([0, 5, 10, 50]),
)
def test_cash_settlement_adds_up(due: int, extra: int, increment: int) -> None:
    cash = Tender(
        id="cash", name="Cash", tender_type="cash", change_type="tender", over_tender=True, rounding=increment
    )
    owed = cash_rounding(due, increment)
    if owed == 0:
        return
    result = settle(due, [pay("cash", owed + extra)], tenders(cash))
    assert result.paid_total == owed
    assert result.change_total == extra
    assert result.paid_total == due + result.rounding
    assert abs(result.rounding) <= max(increment // 2, 0)
