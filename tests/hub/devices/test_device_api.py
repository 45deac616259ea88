"""The device fleet API: adopting by URL, terminal routing of receipts, and bad input refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, PrinterSim, printer_device, receipt, wait_for


@pytest.fixture
def hub(tmp_path: Path, sim: PrinterSim) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.3)]).start()
    try:
        yield hub
    finally:
        hub.stop()


def admin(hub: HubProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return hub.api(method, path, body, token=hub.admin_token)


def test_a_terminal_prints_on_its_own_receipt_printer(
    hub: HubProcess, sim: PrinterSim, tmp_path: Path
) -> None:
    second = PrinterSim(tmp_path).start()
    try:
        status, device = admin(hub, "POST", "/api/v1/devices", {"url": f"tcp://127.0.0.1:{second.port}",
                               "kind": "printer", "role": "receipt_printer", "terminal": "T2"})  # fmt: skip
        assert status == 201, device
        assert (device["id"], device["source"], device["terminal"]) == ("receipt-printer-t2", "adopted", "T2")
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/receipt-printer-t2")[1]["status"] == "online",
            what="online",
        )
        ids = seed_catalog(hub)
        numbers = {}
        for terminal in ("T1", "T2"):
            cart = hub.api("POST", "/api/v1/carts", {"terminal_id": terminal})[1]
            assert (
                hub.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": ids["CEV10"]})[0] == 201
            )
            status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                                   {"idempotency_key": f"k-{terminal}", "payments": [{"tender_id": "cash", "amount": 2000}]})  # fmt: skip
            assert status == 201, sale
            hub.wait_job(sale["print_job_id"])
            numbers[terminal] = sale["number_text"]
        # T2 has its own printer; T1 has none and uses the store's receipt printer.
        second.wait_paper(numbers["T2"])
        sim.wait_paper(numbers["T1"])
        assert numbers["T2"] not in sim.paper() and numbers["T1"] not in second.paper()
    finally:
        second.stop()


def test_bad_adoptions_are_refused_naming_the_field_and_change_nothing(
    hub: HubProcess, sim: PrinterSim
) -> None:
    url = f"tcp://127.0.0.1:{sim.port}"
    cases = [
        ({"url": url, "kind": "printer", "role": "scanner", "terminal": "T1"}, 422, "invalid_device", "role"),
        ({"url": url, "kind": "line_display", "role": "customer_display"}, 422, "invalid_device", "terminal"),
        ({"url": "lpt://1", "kind": "printer"}, 422, "invalid_device", "url"),
        ({"url": url, "kind": "printer", "driver": "zpl"}, 422, "invalid_device", "driver"),
        ({"url": url, "kind": "printer", "id": "receipt"}, 409, "device_exists", "id"),
        ({"url": url}, 422, "unsupported_device", "kind"),
        ({}, 422, "missing_device", "found_id"),
    ]
    for body, status, code, field in cases:
        got, answer = admin(hub, "POST", "/api/v1/devices", body)
        assert (got, answer["error"]["code"]) == (status, code), (body, answer)
        assert answer["error"]["details"]["field"] == field, (body, answer)
    got, answer = admin(hub, "POST", "/api/v1/devices", {"url": url, "kind": "printer", "colour": "red"})
    assert (got, answer["error"]["code"]) == (422, "unknown_field")
    got, answer = admin(hub, "POST", "/api/v1/devices", {"found_id": "usb:X"})
    assert (got, answer["error"]["code"]) == (409, "discovery_disabled")
    assert [d["id"] for d in hub.api("GET", "/api/v1/devices")[1]["devices"]] == ["receipt"]
    assert hub.api("POST", "/api/v1/devices", {"url": url, "kind": "printer"})[0] == 403  # a tablet's token


def test_removal_rules(hub: HubProcess, sim: PrinterSim) -> None:
    got, answer = admin(hub, "DELETE", "/api/v1/devices/receipt")
    assert (got, answer["error"]["code"]) == (409, "configured_in_file")
    got, answer = admin(hub, "POST", "/api/v1/devices/receipt/display", {"lines": ["hi"]})
    assert (got, answer["error"]["code"]) == (409, "not_a_display")
    status, kitchen = admin(hub, "POST", "/api/v1/devices", {"url": f"tcp://127.0.0.1:{sim.port}",
                            "kind": "printer", "role": "kitchen_printer", "station": "grill"})  # fmt: skip
    assert status == 201, kitchen
    wait_for(
        lambda: hub.api("GET", "/api/v1/devices/kitchen-printer-grill")[1]["status"] == "online",
        what="online",
    )
    sim.control("paper_out on")
    status, job = hub.api(
        "POST", "/api/v1/devices/kitchen-printer-grill/jobs", {"document": receipt("ORDER 7")}
    )
    assert status == 201
    wait_for(lambda: hub.job(job["id"])["state"] == "held", what="job held")
    got, answer = admin(hub, "DELETE", "/api/v1/devices/kitchen-printer-grill")
    assert (got, answer["error"]["code"]) == (409, "jobs_pending")  # the order is not thrown away
    sim.control("paper_out off")
    hub.wait_job(job["id"])
    assert admin(hub, "DELETE", "/api/v1/devices/kitchen-printer-grill") == (
        200,
        {"removed": "kitchen-printer-grill"},
    )
    assert hub.api("GET", "/api/v1/devices/kitchen-printer-grill")[0] == 404
