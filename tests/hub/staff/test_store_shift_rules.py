"""The cloud's shift rules for a store (``store_options.shift_rules``) applied on the hub through
the real config apply: the auto-close time, blind closing, the largest difference a cashier may
close with, and selling without an open shift."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hub.domain.cloud_config import CloudConfig
from hub.domain.errors import DomainError
from hub.domain.sales.checkout import Seller
from hub.domain.sales.errors import SalesError
from hub.domain.sales.schemas import CartCreate, Checkout, LineAdd
from hub.domain.sales.tenders import PaymentRequest
from hub.domain.shifts.schemas import CloseShift, OpenShift
from tests.hub.staff.test_shift_rules import SARAJEVO, Clock, Store, build
from tests.hub.sync.config_support import SOK, delta, full_config, item, open_store


async def push_rules(store: Store, version: int, **rules: Any) -> None:
    """The cloud's store options with these shift rules, applied as a hub applies a (full) delta."""
    config = CloudConfig(store.db, invalidate=[store.settings.invalidate])
    applied = await config.apply(delta(version, [item("store_options", "store", {"shift_rules": rules})]))
    assert (applied.outcome, applied.applied_version) == ("applied", version), applied


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    clock = Clock(datetime(2026, 11, 23, 9, 0, tzinfo=SARAJEVO))
    built = await build(tmp_path, clock, work_start="08:00", work_end="23:00", late_threshold_min=600,
                        early_threshold_min=0)  # fmt: skip
    try:
        yield built
    finally:
        await built.db.close()


async def test_the_store_chooses_when_open_shifts_close_or_that_they_never_do(store: Store) -> None:
    await push_rules(store, 2, auto_close_at="21:00")
    first = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=0, late_reason="night"), store.staff
    )
    store.clock.set("20:59")
    assert await store.shifts.auto_close_due() == []
    store.clock.set("21:00")
    assert await store.shifts.auto_close_due() == [first.id]
    # Opened after the day's closing time: it runs until that time tomorrow, not one minute.
    store.clock.set("21:30")
    late = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=0, late_reason="night"), store.staff
    )
    store.clock.set("23:59")
    assert await store.shifts.auto_close_due() == []
    store.clock.set("21:00", day=24)
    assert await store.shifts.auto_close_due() == [late.id]
    # Off: a shift left open stays open over midnight.
    await push_rules(store, 3, auto_close_at=None)
    kept = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=0, late_reason="night"), store.staff
    )
    store.clock.set("09:00", day=26)
    assert await store.shifts.auto_close_due() == []
    assert (await store.shifts.view(kept.id)).state == "open"


async def test_a_count_too_far_off_needs_a_manager(store: Store) -> None:
    await push_rules(store, 2, max_difference=500)
    shift = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=5000, late_reason="night"), store.staff
    )
    short = CloseShift(counted={"cash": 4400}, print_report=False, early_reason="test")  # 6.00 short
    with pytest.raises(DomainError) as refused:
        await store.shifts.close(shift.id, short, store.staff, actor="cashier")
    assert (refused.value.code, refused.value.status) == ("difference_needs_manager", 403)
    assert refused.value.details == {"max_difference": 500, "difference": -600}
    assert (await store.shifts.view(shift.id)).state == "open"  # nothing closed
    # Within the limit the cashier closes; a manager (here the admin credential) closes any count.
    closed = await store.shifts.close(shift.id, CloseShift(counted={"cash": 4600}, print_report=False, early_reason="test"),
                                      store.staff, actor="cashier")  # fmt: skip
    assert closed.state == "closed" and closed.figures is not None
    other = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=5000, late_reason="night"), store.staff
    )
    by_manager = await store.shifts.close(other.id, short, None, actor="manager")
    assert by_manager.state == "closed"


async def test_a_blind_close_shows_the_cashier_no_expected_amounts(store: Store) -> None:
    await push_rules(store, 2, blind_close=True, max_difference=100)
    shift = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=5000, late_reason="night"), store.staff
    )
    seen = await store.shifts.view_for(shift.id, store.staff)
    assert seen.blind and seen.figures is None
    assert [v.figures is None for v in await store.shifts.list(staff=store.staff)] == [True]
    manager_view = await store.shifts.view_for(shift.id, None)
    assert not manager_view.blind and manager_view.figures is not None
    assert manager_view.figures.expected_cash == 5000
    # A refused count does not give the expected amount away either.
    with pytest.raises(DomainError) as refused:
        await store.shifts.close(shift.id, CloseShift(counted={"cash": 4000}, print_report=False, early_reason="test"), store.staff,
                                 actor="cashier")  # fmt: skip
    assert refused.value.details == {"max_difference": 100}
    closed = await store.shifts.close(shift.id, CloseShift(counted={"cash": 5000}, print_report=False, early_reason="test"),
                                      store.staff, actor="cashier")  # fmt: skip
    assert closed.state == "closed" and closed.figures is None
    # The difference is on record for the manager.
    recorded = await store.shifts.view(shift.id)
    assert recorded.figures is not None and recorded.figures.tenders[0].difference == 0


async def test_a_store_may_sell_without_an_open_shift(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        await store.config.apply(delta(5, full_config(5)))
        seller = Seller(employee_id=7)  # Amra, the cloud's employee 7 in the full config

        async def sell(key: str) -> int:
            cart = await store.sales.carts.create(CartCreate(terminal_id="T1"), actor="edin")
            await store.sales.carts.add_line(cart.id, LineAdd(product_id=SOK))
            request = Checkout(
                idempotency_key=key, payments=[PaymentRequest(tender_id="cash", amount=100_000)]
            )
            sale, _ = await store.sales.checkout.checkout(cart.id, request, actor="edin", seller=seller)
            return sale.id

        with pytest.raises(SalesError) as refused:
            await sell("with-the-default-rule")
        assert refused.value.code == "no_open_shift"
        rules = {"shift_rules": {"require_open_shift": False}}
        await store.config.apply(delta(6, [item("store_options", "store", rules)], since=5))
        sale_id = await sell("without-a-shift")
        row = await store.db.fetchone("SELECT shift_id, employee_id FROM sales WHERE id = ?", (sale_id,))
        assert row is not None and (row["shift_id"], row["employee_id"]) == (None, 7)
