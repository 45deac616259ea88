"""Shift rules on a real store with the clock moved by hand: the 23:59 auto-close, late starts,
early closes; and the expected-cash formula as a property over random shifts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.db.database import Database
from hub.domain.errors import Invalid
from hub.domain.events import EventLog
from hub.domain.print_jobs import PrintJobs
from hub.domain.sales.checkout import Devices
from hub.domain.shifts.figures import shift_figures
from hub.domain.shifts.schemas import CloseShift, OpenShift
from hub.domain.shifts.service import ShiftService
from hub.domain.staff.schemas import EmployeeIn, PinLogin
from hub.domain.staff.service import StaffService, StaffSession
from hub.domain.store_settings import StoreSettings, StoreSettingsService

SARAJEVO = ZoneInfo("Europe/Sarajevo")
DEVICE = "device:tablet#1"


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at

    def set(self, hhmm: str, day: int = 23) -> None:
        hour, minute = (int(p) for p in hhmm.split(":"))
        self.at = datetime(2026, 11, day, hour, minute, tzinfo=SARAJEVO)


@dataclass
class Store:
    db: Database
    clock: Clock
    shifts: ShiftService
    staff: StaffSession
    settings: StoreSettingsService


async def build(tmp: Path, clock: Clock, **store: object) -> Store:
    db = Database(tmp / "hub.db")
    await db.open()
    events = EventLog(db)
    settings = StoreSettingsService(db)
    await settings.replace(msgspec.structs.replace(StoreSettings(), **store), actor="test")
    people = StaffService(db, clock=clock)
    await people.create(EmployeeIn(cashier_num=7, name="Edin", pin="2468"), actor="test")
    session = await people.login(PinLogin(terminal_id="T1", cashier_num=7, pin="2468"), device=DEVICE)
    assert session.token is not None
    staff = await people.session(session.token, device=DEVICE)
    shifts = ShiftService(
        db, events, PrintJobs(db, events), settings, Devices(frozenset(), frozenset()), clock=clock
    )
    return Store(db, clock, shifts, staff, settings)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    clock = Clock(datetime(2026, 11, 23, 9, 0, tzinfo=SARAJEVO))
    built = await build(
        tmp_path, clock, work_start="08:00", work_end="22:00", late_threshold_min=10, early_threshold_min=10
    )
    try:
        yield built
    finally:
        await built.db.close()


async def test_a_shift_left_open_closes_itself_at_2359_store_time(store: Store) -> None:
    store.clock.set("10:00")
    shift = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=5000, late_reason="dentist"), store.staff
    )
    store.clock.set("23:58")
    assert await store.shifts.auto_close_due() == []
    store.clock.set("23:59")
    assert await store.shifts.auto_close_due() == [shift.id]
    closed = await store.shifts.view(shift.id)
    assert closed.state == "closed" and closed.auto_closed and closed.closed_by == "system:auto-close"
    assert closed.figures is not None
    cash = next(t for t in closed.figures.tenders if t.tender_type == "cash")
    assert (cash.expected, cash.counted, cash.difference) == (5000, 5000, 0)  # the expected amount stands
    fact = await store.db.fetchone("SELECT payload FROM outbox WHERE type = 'shift.closed'")
    assert fact is not None and msgspec.json.decode(fact["payload"])["auto_closed"] is True
    assert await store.shifts.auto_close_due() == []  # nothing twice


async def test_a_shift_opened_yesterday_is_closed_when_the_hub_comes_back(store: Store) -> None:
    store.clock.set("20:00", day=22)
    shift = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=0, late_reason="night shift"), store.staff
    )
    store.clock.set("07:30", day=23)  # the hub was off over midnight
    assert await store.shifts.auto_close_due() == [shift.id]


async def test_late_start_needs_a_reason_and_is_recorded(store: Store) -> None:
    store.clock.set("08:09")
    on_time = await store.shifts.open(OpenShift(terminal_id="T1", opening_cash=0), store.staff)
    assert on_time.late_minutes == 0
    await store.shifts.close(
        on_time.id, CloseShift(counted={"cash": 0}, early_reason="test", print_report=False), None, actor="t"
    )
    store.clock.set("08:40")
    with pytest.raises(Invalid) as info:
        await store.shifts.open(OpenShift(terminal_id="T1", opening_cash=0), store.staff)
    assert info.value.code == "late_reason_required" and info.value.details == {"late_minutes": 40}
    late = await store.shifts.open(
        OpenShift(terminal_id="T1", opening_cash=0, late_reason="tram"), store.staff
    )
    assert (late.late_minutes, late.late_reason) == (40, "tram")


async def test_early_close_needs_a_reason(store: Store) -> None:
    store.clock.set("08:05")
    shift = await store.shifts.open(OpenShift(terminal_id="T1", opening_cash=0), store.staff)
    store.clock.set("21:00")
    with pytest.raises(Invalid) as info:
        await store.shifts.close(
            shift.id, CloseShift(counted={"cash": 0}, print_report=False), None, actor="t"
        )
    assert info.value.code == "early_reason_required" and info.value.details == {"early_minutes": 60}
    store.clock.set("21:55")  # within the 10 minutes: not early
    closed = await store.shifts.close(
        shift.id, CloseShift(counted={"cash": 0}, print_report=False), None, actor="t"
    )
    assert closed.early_minutes == 0


# --- expected cash as a property ------------------------------------------------------------

operations = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "sale_cash",
                "sale_card",
                "refund_cash",
                "cash_in",
                "cash_out",
                "handover",
                "postal_cod",
                "training",
            ]
        ),
        st.integers(min_value=1, max_value=100_000),
    ),
    max_size=25,
)


async def _run_shift(tmp: Path, opening: int, ops: list[tuple[str, int]]) -> tuple[int, int]:
    clock = Clock(datetime(2026, 11, 23, 12, 0, tzinfo=SARAJEVO))
    store = await build(tmp, clock, late_threshold_min=1440, early_threshold_min=1440)
    try:
        shift = await store.shifts.open(OpenShift(terminal_id="T1", opening_cash=opening), store.staff)
        model = opening
        async with store.db.transaction() as tx:
            for number, (kind, amount) in enumerate(ops, start=1):
                if kind.startswith(("sale", "refund", "training")):
                    sign = -1 if kind == "refund_cash" else 1
                    doc = "refund" if sign < 0 else "receipt"
                    row = await tx.fetchone(
                        "INSERT INTO sales (uuid, doc_type, number, number_text, store_id, terminal_id, training, "
                        "idempotency_key, request_hash, seller, currency, subtotal, discount_total, tax_total, total, "
                        "paid_total, settings_version, created_at, shift_id) VALUES (?, ?, ?, ?, 's', 'T1', ?, ?, '', 'x', "
                        "'BAM', ?, 0, 0, ?, ?, 0, '2026-11-23T11:00:00.000Z', ?) RETURNING id",
                        (f"u{number}", doc, number, f"n{number}", kind == "training", f"k{number}", sign * amount,
                         sign * amount, sign * amount, shift.id),
                    )  # fmt: skip
                    assert row is not None
                    tender = "card" if kind == "sale_card" else "cash"
                    await tx.execute(
                        "INSERT INTO payments (sale_id, tender_id, tender_type, amount, tendered) VALUES (?, ?, ?, ?, ?)",
                        (row["id"], tender, tender, sign * amount, sign * amount),
                    )
                    if tender == "cash" and kind != "training":
                        model += sign * amount
                else:
                    await tx.execute(
                        "INSERT INTO cash_movements (shift_id, kind, amount, reason, actor, at) VALUES (?, ?, ?, 'r', 'a', 't')",
                        (shift.id, kind, amount),
                    )
                    model += amount if kind in ("cash_in", "postal_cod") else -amount
        figures = await shift_figures(store.db, shift.id, opening)
        return figures.expected_cash, model
    finally:
        await store.db.close()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=1_000_000), operations)
def test_expected_cash_is_opening_plus_cash_sales_minus_refunds_plus_in_minus_out_minus_handovers(
    tmp_path_factory: pytest.TempPathFactory, opening: int, ops: list[tuple[str, int]]
) -> None:
    expected, model = asyncio.run(_run_shift(tmp_path_factory.mktemp("shift"), opening, ops))
    assert expected == model


async def test_z_reports_are_numbered_once_and_immutable(store: Store) -> None:
    import sqlite3

    from hub.domain.reports.day_close import DayClose

    days = DayClose(store.db, store.shifts._jobs, store.shifts._settings, frozenset(), clock=store.clock)
    first, second = await days.z_report(actor="t"), await days.z_report(actor="t")
    assert (first.number, second.number) == (1, 2)
    for sql in ("UPDATE z_reports SET grand_total = 0", "DELETE FROM z_reports WHERE number = 1"):
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            async with store.db.transaction() as tx:
                await tx.execute(sql)
    assert [z.number for z in await days.z_reports()] == [2, 1]
