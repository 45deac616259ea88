from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.escpos_cache import use_persistent_escpos_cache

# One printer-database cache for the test run and every hub it starts (they inherit the
# environment), before anything imports the renderer.
use_persistent_escpos_cache(None)

from tests.support.procs import HubProcess, PrinterSim, printer_device


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PrinterSim]:
    printer = PrinterSim(tmp_path).start()
    yield printer
    printer.stop()


@pytest.fixture
def hub(tmp_path: Path, sim: PrinterSim) -> Iterator[HubProcess]:
    """A hub with one receipt printer on the simulator."""
    process = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5)]).start()
    yield process
    process.stop()
