"""Closing a shift closes its card terminal's day once: a close that fails after the terminal's
day was closed is retried with the report it already has, never a second end of day (the
report printing itself is tested end to end in tests/hub/payments)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from hub.domain.events import EventLog
from hub.domain.print_jobs import PrintJobs
from hub.domain.sales.checkout import Devices
from hub.domain.shifts.schemas import CloseShift, OpenShift
from hub.domain.shifts.service import ShiftService
from tests.hub.staff.test_shift_rules import SARAJEVO, Clock, build


class Terminal:
    """A card terminal's end of day that counts how often it ran."""

    def __init__(self) -> None:
        self.days_closed = 0

    async def end_of_day(self, terminal_id: str) -> list[str]:
        self.days_closed += 1
        return [f"EOD {terminal_id} #{self.days_closed}", "TOTAL 23.40"]


async def test_a_retried_close_reuses_the_end_of_day_it_already_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(datetime(2026, 11, 23, 9, 0, tzinfo=SARAJEVO))
    store = await build(tmp_path, clock, work_start="08:00", work_end="22:00", late_threshold_min=600,
                        early_threshold_min=1440)  # fmt: skip
    try:
        terminal = Terminal()
        events = EventLog(store.db)
        shifts = ShiftService(store.db, events, PrintJobs(store.db, events), store.settings,
                              Devices(frozenset(), frozenset()), clock=clock, card_day=terminal.end_of_day)  # fmt: skip
        shift = await shifts.open(OpenShift(terminal_id="T1", opening_cash=0), store.staff)
        real_close = ShiftService._close
        failures: list[int] = []

        async def close_fails_once(self: ShiftService, *args: object, **kwargs: object) -> object:
            if not failures:
                failures.append(1)
                raise OSError("disk I/O error")  # after the terminal's day was closed
            return await real_close(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ShiftService, "_close", close_fails_once)
        count = CloseShift(counted={"cash": 0}, print_report=False)
        with pytest.raises(OSError, match="disk I/O error"):
            await shifts.close(shift.id, count, store.staff, actor="cashier")
        assert terminal.days_closed == 1 and (await shifts.view(shift.id)).state == "open"
        closed = await shifts.close(shift.id, count, store.staff, actor="cashier")
        assert closed.state == "closed"
        assert terminal.days_closed == 1  # the retry took the first run's report
        kept = await store.db.fetchall("SELECT lines FROM shift_card_days WHERE shift_id = ?", (shift.id,))
        assert [row["lines"] for row in kept] == ['["EOD T1 #1","TOTAL 23.40"]']
    finally:
        await store.db.close()
