"""A customer display on a printer's display port: reached through the printer, never on paper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, PrinterSim, printer_device, receipt, wait_for


@pytest.fixture
def hub(tmp_path: Path, sim: PrinterSim) -> Iterator[HubProcess]:
    pole = {"id": "pole", "kind": "line_display", "driver": "dmd", "url": "printer://receipt",
            "role": "customer_display", "terminal": "T1", "options": {"idle_text": "Dobrodosli"}}  # fmt: skip
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.3), pole]).start()
    try:
        yield hub
    finally:
        hub.stop()


def display_text(sim: PrinterSim) -> str:
    return str(sim.status()["display_text"])


def test_display_text_goes_through_the_printer_between_jobs_and_never_onto_paper(
    hub: HubProcess, sim: PrinterSim
) -> None:
    wait_for(lambda: hub.api("GET", "/api/v1/devices/pole")[1]["status"] == "online", what="display online")
    wait_for(lambda: "Dobrodosli" in display_text(sim), what="idle text on the display")
    shown = hub.cli("display", "pole", "Kasa zatvorena")
    assert shown.returncode == 0, shown.stderr
    wait_for(lambda: "Kasa zatvorena" in display_text(sim), what="technician's text")

    status, job = hub.api("POST", "/api/v1/devices/receipt/jobs", {"document": receipt("AFTER DISPLAY")})
    assert status == 201
    hub.wait_job(job["id"])
    paper = sim.paper()
    assert "AFTER DISPLAY" in paper
    assert "Kasa zatvorena" not in paper and "Dobrodosli" not in paper

    ids = seed_catalog(hub)
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})
    assert status == 201
    assert (
        hub.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": ids["CEV10"], "quantity": "1"})[0]
        == 201
    )
    wait_for(lambda: "TOTAL" in display_text(sim) and "11.70" in display_text(sim), what="running total")
    assert "TOTAL" not in sim.paper()


def test_the_display_goes_offline_with_its_printer(hub: HubProcess, sim: PrinterSim) -> None:
    wait_for(lambda: hub.api("GET", "/api/v1/devices/pole")[1]["status"] == "online", what="display online")
    sim.stop()
    wait_for(
        lambda: hub.api("GET", "/api/v1/devices/receipt")[1]["status"] == "offline",
        15,
        what="printer offline",
    )
    hub.cli("display", "pole", "anyone there?")
    view = wait_for(lambda: (v := hub.api("GET", "/api/v1/devices/pole")[1])["status"] == "offline" and v, 15,
                    what="display offline")  # fmt: skip
    assert "receipt" in view["detail"]


def test_only_a_display_can_sit_behind_a_printer(tmp_path: Path, sim: PrinterSim) -> None:
    hub = HubProcess(
        tmp_path, [printer_device(sim), {"id": "x", "kind": "scanner", "url": "printer://receipt"}]
    )
    result = hub.cli("check-config")
    assert result.returncode == 2
    assert "devices[1].url: only a line display can be reached through a printer" in result.stderr
