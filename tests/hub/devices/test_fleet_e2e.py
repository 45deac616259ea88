"""The device fleet end to end: simulators on pseudo-terminals and mDNS, a real hub, the CLI.

`smartpos-hub discover` lists every simulator with the right driver (and what no driver
supports as unsupported); adopting them with roles makes them work: the receipt printer of a
terminal prints its sales, the terminal's display follows the sale, its scanner's codes reach
the terminal's websocket; adopted devices survive a restart and can be removed again.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.device_sims import PtySim
from tests.support.procs import HubProcess, PrinterSim, receipt, wait_for

PRINTER = "usb-SmartPOS_SIM-80_Receipt_Printer_P001-if00-port0"
DISPLAY = "usb-Generic_CD5220_Customer_Display_D001-if00-port0"
SCANNER = "usb-Honeywell_Barcode_Scanner_S001-if00-port0"
UART = "usb-FTDI_FT232R_USB_UART_A10K-if00-port0"


class Store:
    def __init__(self, root: Path) -> None:
        self.byid = root / "by-id"
        self.byid.mkdir()
        self.printer = PrinterSim(root, extra=["--serial", str(self.byid / PRINTER)])
        self.kitchen = PrinterSim(root, extra=["--mdns", "Kitchen printer"])
        self.laser = PrinterSim(root, extra=["--mdns", "Office laser", "--mdns-service", "ipp"])
        self.display = PtySim("display", self.byid / DISPLAY, "--protocol", "cd5220")
        self.scanner = PtySim("scanner", self.byid / SCANNER)
        # A silent USB-serial adapter nobody claims: listed as unsupported, with its ids.
        self.uart_master, uart_slave = pty.openpty()
        tty.setraw(uart_slave)
        (self.byid / UART).symlink_to(os.ttyname(uart_slave))
        self.uart_slave = uart_slave
        self.hub = HubProcess(
            root,
            extra_toml="\n".join(
                [
                    "[discovery]",
                    "usb = false",
                    "ble = false",
                    f'serial = ["{self.byid}/*"]',
                    f'serial_probe = ["{self.byid}/*Printer*", "{self.byid}/*UART*"]',
                    'mdns_interfaces = ["127.0.0.1"]',
                ]
            ),
        )

    def start(self) -> Store:
        for sim in (self.printer, self.kitchen, self.laser, self.display, self.scanner):
            sim.start()
        self.hub.start()
        return self

    def stop(self) -> None:
        self.hub.stop()
        for sim in (self.printer, self.kitchen, self.laser, self.display, self.scanner):
            sim.stop()
        os.close(self.uart_master)
        os.close(self.uart_slave)

    def discover(self) -> dict[str, dict[str, Any]]:
        result = self.hub.cli("discover", "--json")
        assert result.returncode == 0, result.stderr
        return {found["id"]: found for found in json.loads(result.stdout)["found"]}

    def adopt(self, found_id: str, *args: str) -> dict[str, Any]:
        result = self.hub.cli("devices", "adopt", found_id, *args, "--json")
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    def devices(self) -> dict[str, dict[str, Any]]:
        result = self.hub.cli("devices", "--json")
        assert result.returncode == 0, result.stderr
        return {device["id"]: device for device in json.loads(result.stdout)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path).start()
    try:
        yield store
    finally:
        store.stop()


def serial_id(name: str, store: Store) -> str:
    return f"serial:{store.byid / name}"


def all_found(store: Store, ids: list[str]) -> dict[str, dict[str, Any]] | None:
    found = store.discover()
    return found if all(i in found for i in ids) else None


async def scans_on_websocket(hub: HubProcess, count: int) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{hub.url}/api/v1/events?last_id=0", headers={"Authorization": f"Bearer {hub.token}"}
        ) as ws,
    ):
        scans: list[dict[str, Any]] = []
        async with asyncio.timeout(15):
            async for message in ws:
                event = json.loads(message.data)
                if event.get("type") == "scanner.scan":
                    scans.append(event["data"])
                    if len(scans) == count:
                        return scans
    return scans


def test_discover_lists_every_simulator_with_its_driver_and_adopting_makes_them_work(store: Store) -> None:
    hub = store.hub
    kitchen_id = "mdns:Kitchen printer._pdl-datastream._tcp"
    laser_id = "mdns:Office laser._ipp._tcp"
    ids = [serial_id(n, store) for n in (PRINTER, DISPLAY, SCANNER, UART)] + [kitchen_id, laser_id]
    found = wait_for(lambda: all_found(store, ids), 15, what="every simulator discovered")
    claims = {
        i: (f["kind"], f["driver"]) if f["supported"] else "unsupported" for i, f in found.items() if i in ids
    }
    assert claims == {
        serial_id(PRINTER, store): ("printer", "escpos"),
        serial_id(DISPLAY, store): ("line_display", "cd5220"),
        serial_id(SCANNER, store): ("scanner", "serial_scanner"),
        serial_id(UART, store): "unsupported",
        kitchen_id: ("printer", "escpos"),
        laser_id: "unsupported",
    }
    assert found[serial_id(PRINTER, store)]["properties"]["probe"] == "escpos"
    assert found[serial_id(UART, store)]["properties"]["probe"] == "silent"
    assert "probe" not in found[serial_id(DISPLAY, store)]["properties"]  # never written to
    assert found[kitchen_id]["url"] == f"tcp://127.0.0.1:{store.kitchen.port}"
    table = hub.cli("discover")
    assert table.returncode == 0 and "unsupported" in table.stdout and "line_display/cd5220" in table.stdout

    store.adopt(serial_id(PRINTER, store), "--role", "receipt_printer", "--terminal", "T1")
    store.adopt(serial_id(DISPLAY, store), "--role", "customer_display", "--terminal", "T1")
    store.adopt(serial_id(SCANNER, store), "--role", "scanner", "--terminal", "T1")
    kitchen = store.adopt(kitchen_id, "--role", "kitchen_printer", "--station", "grill")
    assert kitchen["id"] == "kitchen-printer-grill" and kitchen["url"].startswith("tcp://127.0.0.1:")
    refused = hub.cli("devices", "adopt", laser_id)
    assert refused.returncode != 0 and "unsupported_device" in refused.stderr
    twice = hub.cli("devices", "adopt", kitchen_id)
    assert twice.returncode != 0 and "already_adopted" in twice.stderr
    wait_for(
        lambda: all(d["status"] == "online" for d in store.devices().values()), 15, what="devices online"
    )
    assert store.discover()[kitchen_id]["adopted_as"] == "kitchen-printer-grill"

    # The test suited to each kind.
    assert hub.cli("test", "receipt-printer-t1").returncode == 0
    store.printer.wait_paper("receipt-printer-t1")
    assert hub.cli("test", "kitchen-printer-grill").returncode == 0
    store.kitchen.wait_paper("kitchen-printer-grill")
    shown = hub.cli("display", "customer-display-t1", "Dobar dan", "Kasa 1")
    assert shown.returncode == 0, shown.stderr
    wait_for(
        lambda: store.display.status()["lines"] == ["Dobar dan".ljust(20), "Kasa 1".ljust(20)], what="text"
    )

    # A sale on T1 prints on T1's printer and shows on T1's display.
    ids_ = seed_catalog(hub)
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})
    assert status == 201
    assert (
        hub.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": ids_["CEV10"], "quantity": "2"})[
            0
        ]
        == 201
    )
    wait_for(lambda: store.display.status()["lines"][1].startswith("TOTAL"), what="running total")
    lines = store.display.status()["lines"]
    assert "23.40" in lines[0] and "23.40" in lines[1]
    status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                           {"idempotency_key": "fleet-1", "payments": [{"tender_id": "cash", "amount": 3000}]})  # fmt: skip
    assert status == 201, sale
    wait_for(lambda: store.display.status()["lines"][1].startswith("CHANGE"), what="change on the display")
    assert store.display.status()["lines"][1].rstrip().endswith("6.60")
    hub.wait_job(sale["print_job_id"])
    store.printer.wait_paper(sale["number_text"])

    # Scans reach the websocket, addressed to the scanner's terminal.
    store.scanner.control("scan 4006381333931")
    store.scanner.control("scan 3870000000020")
    scans = asyncio.run(scans_on_websocket(hub, 2))
    assert [(s["code"], s["terminal_id"], s["device_id"]) for s in scans] == [
        ("4006381333931", "T1", "scanner-t1"),
        ("3870000000020", "T1", "scanner-t1"),
    ]

    # Adopted devices survive a restart; removing one stops and forgets it.
    hub.stop()
    hub.start()
    assert set(store.devices()) == {
        "receipt-printer-t1",
        "customer-display-t1",
        "scanner-t1",
        "kitchen-printer-grill",
    }
    removed = hub.cli("devices", "remove", "scanner-t1")
    assert removed.returncode == 0, removed.stderr
    assert "scanner-t1" not in store.devices()
    assert store.discover()[serial_id(SCANNER, store)]["adopted_as"] is None
    adopted = hub.api("GET", "/api/v1/audit?action=device.adopted", token=hub.admin_token)[1]["entries"]
    removed = hub.api("GET", "/api/v1/audit?action=device.removed", token=hub.admin_token)[1]["entries"]
    assert len(adopted) == 4 and [e["target"] for e in removed] == ["device:scanner-t1"]


def test_serial_printer_unplugged_mid_job_holds_the_job_and_prints_it_when_replugged(tmp_path: Path) -> None:
    byid = tmp_path / "by-id"
    byid.mkdir()
    link = byid / PRINTER
    printer = PrinterSim(tmp_path, speed=40.0, extra=["--serial", str(link)]).start()
    hub = HubProcess(
        tmp_path,
        [
            {
                "id": "receipt",
                "kind": "printer",
                "url": f"serial://{link}",
                "options": {"poll_interval": 0.3, "reply_timeout": 0.5},
            }
        ],
    ).start()
    replug: PrinterSim | None = None
    try:
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/receipt")[1]["status"] == "online", what="printer online"
        )
        status, job = hub.api(
            "POST", "/api/v1/devices/receipt/jobs", {"document": receipt("UNPLUG TEST", 60)}
        )
        assert status == 201, job
        wait_for(lambda: hub.job(job["id"])["state"] == "printing", what="job printing")
        printer.stop()  # the cable is pulled: the pty and its by-id link vanish
        wait_for(lambda: hub.job(job["id"])["state"] in ("held", "queued"), 15, what="job held")
        assert hub.api("GET", "/api/v1/devices/receipt")[1]["status"] == "offline"
        replug = PrinterSim(tmp_path, extra=["--serial", str(link)]).start()
        done = hub.wait_job(job["id"], timeout=30)
        assert done["state"] == "done"
        replug.wait_paper("UNPLUG TEST")
    finally:
        hub.stop()
        printer.stop()
        if replug is not None:
            replug.stop()
