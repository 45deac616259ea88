"""Closing a shift closes its card terminal's day first, where the store configures it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.staff.staff_support import Staff, hire, without_shift_clock
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for
from tests.support.terminal_sim import DeviceSim


@pytest.fixture
def hub(tmp_path: Path, sim: PrinterSim) -> Iterator[tuple[HubProcess, DeviceSim]]:
    terminal = DeviceSim("terminal", "zvt").start()
    card = {"id": "card-t1", "kind": "payment_terminal", "driver": "zvt", "url": f"tcp://127.0.0.1:{terminal.port}",
            "role": "payment_terminal", "terminal": "T1"}  # fmt: skip
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5), card],
                     extra_toml="[payments]\nend_of_day_on_shift_close = true\n")  # fmt: skip
    try:
        hub.start()
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/card-t1")[1]["status"] == "online", 15, what="terminal"
        )
        without_shift_clock(hub)
        hire(hub)
        yield hub, terminal
    finally:
        hub.stop()
        terminal.stop()


def test_the_card_day_closes_with_the_shift_and_its_report_prints(
    hub: tuple[HubProcess, DeviceSim], sim: PrinterSim
) -> None:
    hub_, terminal = hub
    cashier = Staff(hub_, 2, "2222")
    shift = cashier.open_shift()

    def closings() -> int:
        return sum(1 for tx in terminal.json("transactions") if tx.get("kind") == "end_of_day")

    assert closings() == 0
    status, closed = cashier.api("POST", f"/api/v1/shifts/{shift['id']}/close",
                                 {"counted": {"cash": 10000}, "print_report": False})  # fmt: skip
    assert status == 200, closed
    assert closings() == 1
    wait_for(lambda: "--- CUT ---" in sim.paper(), 10, what="the card day report printed")
