"""Sales fiscalised through a simulated Datecs X fiscal printer: exactly once, under every fault.

A real hub process, the receipt printer simulator and ``smartpos-sim fiscal --protocol
datecs-x`` as separate processes. Each test checks what a store owner would: the sale shows
its fiscal number, the fiscal device issued exactly one receipt for it, and the ordinary
receipt printer printed no copy of what the fiscal device prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.fiscal_sim import FiscalSim
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for

FISCAL_TOML = '[fiscal]\nmode = "device"\ndevice = "fp"\n[fiscal.tax_groups]\n"17" = "A"\n'


@dataclass
class Shop:
    hub: HubProcess
    fp: FiscalSim
    printer: PrinterSim
    ids: dict[str, int]


def fiscal_device(fp: FiscalSim, **options: Any) -> dict[str, Any]:
    return {"id": "fp", "kind": "fiscal_printer", "driver": "datecs_x", "url": fp.url,
            "options": {"poll_interval": 0.5, **options}}  # fmt: skip


def open_shop(tmp_path: Path, sim: PrinterSim, fp: FiscalSim, **options: Any) -> Iterator[Shop]:
    """A hub selling through ``fp``; stopped (with the simulator) when the test ends."""
    fp.start()
    devices = [printer_device(sim, poll_interval=0.5), fiscal_device(fp, **options)]
    hub = HubProcess(tmp_path, devices, extra_toml=FISCAL_TOML)
    try:
        hub.start()
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/fp")[1]["status"] == "online", 15, what="fiscal printer"
        )
        yield Shop(hub, fp, sim, seed_catalog(hub))
    finally:
        hub.stop()
        fp.stop()


@pytest.fixture
def shop(tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    yield from open_shop(tmp_path, sim, FiscalSim())


def sell(shop: Shop, key: str, *lines: tuple[str, str], cash: int = 5000) -> dict[str, Any]:
    hub = shop.hub
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})
    assert status == 201, cart
    for sku, quantity in lines or (("CEV10", "2"),):
        status, body = hub.api(
            "POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": shop.ids[sku], "quantity": quantity}
        )
        assert status == 201, body
    status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                           {"idempotency_key": key, "payments": [{"tender_id": "cash", "amount": cash}]})  # fmt: skip
    assert status == 201, sale
    return dict(sale)


def fiscal_of(shop: Shop, sale_id: int, state: str = "fiscalised", timeout: float = 20.0) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        fiscal = shop.hub.api("GET", f"/api/v1/sales/{sale_id}")[1]["fiscal"]
        return fiscal if fiscal and fiscal["state"] == state else None

    return dict(wait_for(current, timeout, what=f"sale {sale_id} {state}"))


def test_a_sale_is_fiscalised_once_and_not_printed_on_the_receipt_printer(shop: Shop) -> None:
    sale = sell(shop, "s-1", ("CEV10", "2"), ("SOK1", "1"))
    assert sale["fiscal"]["state"] == "pending" and sale["print_job_id"] is None
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1
    assert fiscal["fiscal_number"] == str(issued[0]["number"])
    assert issued[0]["total"] == sale["total"] == 2 * 1170 + 250
    assert [item["quantity"] for item in issued[0]["items"]] == ["2.000", "1.000"]
    assert fiscal["device_serial"]  # the fiscal memory number the device reported
    assert sale["number_text"] not in shop.printer.paper()


@pytest.mark.parametrize("command", ["4c", "30", "31", "35", "38"])
def test_a_reply_lost_at_any_step_still_gives_exactly_one_receipt(shop: Shop, command: str) -> None:
    shop.fp.control(f"drop_cmd {command}")
    sale = sell(shop, f"lost-{command}")
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1 and fiscal["fiscal_number"] == str(issued[0]["number"])


def test_paper_out_holds_the_sale_and_it_is_fiscalised_once_paper_is_back(shop: Shop) -> None:
    shop.fp.control("paper_out on")
    sale = sell(shop, "paper-1")
    held = wait_for(lambda: (f := shop.hub.api("GET", f"/api/v1/sales/{sale['id']}")[1]["fiscal"])["held_reason"] == "paper_out" and f,
                    15, what="held for paper")  # fmt: skip
    assert held["state"] == "pending"
    assert shop.fp.issued() == []
    shop.fp.control("paper_out off")
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1 and fiscal["fiscal_number"] == str(issued[0]["number"])


def test_paper_out_in_the_middle_of_a_receipt_shows_on_the_sale_and_it_is_issued_once(shop: Shop) -> None:
    # The roll ends as the second item is registered: the device refuses it and the open
    # receipt waits. Once paper is back the unfinished receipt is cancelled and issued whole.
    shop.fp.control("paper_out_at 31 2")
    sale = sell(shop, "paper-mid", ("CEV10", "1"), ("SOK1", "1"), ("BAK1", "1"))
    held = wait_for(lambda: (f := shop.hub.api("GET", f"/api/v1/sales/{sale['id']}")[1]["fiscal"])["held_reason"] == "paper_out" and f,
                    15, what="held for paper")  # fmt: skip
    assert held["state"] == "pending" and shop.fp.issued() == []
    device = shop.hub.api("GET", "/api/v1/devices/fp")[1]
    assert device["status"] == "error" and "paper_out" in device["conditions"]
    shop.fp.control("paper_out off")
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1 and fiscal["fiscal_number"] == str(issued[0]["number"])
    assert len(issued[0]["items"]) == 3 and issued[0]["total"] == sale["total"]


def test_sales_are_fiscalised_in_order_and_z_report_runs_the_devices_z(shop: Shop) -> None:
    sales = [sell(shop, f"order-{n}", ("SOK1", str(n + 1))) for n in range(3)]
    numbers = [int(fiscal_of(shop, sale["id"])["fiscal_number"]) for sale in sales]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    status, z = shop.hub.api("POST", "/api/v1/reports/z", {}, token=shop.hub.admin_token)
    assert status == 201, z
    state = wait_for(lambda: (s := json.loads(shop.fp.control("state")))["z_counter"] >= 1 and s,
                     15, what="device Z report")  # fmt: skip
    assert state["z_counter"] == 1


def test_a_refund_is_fiscalised_as_a_storno_receipt(shop: Shop) -> None:
    sale = sell(shop, "refund-source", ("CEV10", "2"))
    fiscal_of(shop, sale["id"])
    line = sale["lines"][0]
    status, refund = shop.hub.api(
        "POST", f"/api/v1/sales/{sale['id']}/refunds",
        {"idempotency_key": "r-1", "terminal_id": "T1", "reason": "wrong item",
         "lines": [{"sale_line_id": line["id"], "quantity": "1"}]},
        token=shop.hub.admin_token,
    )  # fmt: skip
    assert status == 201, refund
    fiscal = fiscal_of(shop, refund["id"])
    storno = [r for r in shop.fp.issued() if r["kind"] == "storno"]
    assert len(storno) == 1 and fiscal["fiscal_number"] == str(storno[0]["number"])
    assert storno[0]["total"] == 1170


@pytest.fixture
def slow_shop(tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    """Every device answer takes 80 ms, and the driver gives up on a command after one try."""
    yield from open_shop(tmp_path, sim, FiscalSim(extra=["--delay-ms", "80"]), attempts=1, reply_timeout=0.4)


def test_a_close_whose_answer_never_came_is_reconciled_not_repeated(slow_shop: Shop) -> None:
    # The device closes the receipt but its answer is lost and the one try is over: the attempt
    # ends offline, and the next one must find the receipt closed rather than issue another.
    slow_shop.fp.control("drop_cmd 38")
    sale = sell(slow_shop, "close-lost")
    fiscal = fiscal_of(slow_shop, sale["id"], timeout=30)
    issued = slow_shop.fp.issued()
    assert len(issued) == 1 and fiscal["fiscal_number"] == str(issued[0]["number"])
    assert fiscal["attempts"] >= 2


@pytest.mark.parametrize("kill_after_s", [0.05, 0.3, 0.6])
def test_kill_9_mid_receipt_then_restart_reconciles_with_the_device(
    slow_shop: Shop, kill_after_s: float
) -> None:
    sale = sell(slow_shop, f"kill-{kill_after_s}", ("CEV10", "1"), ("SOK1", "2"), ("BAK1", "1"))
    time.sleep(kill_after_s)
    slow_shop.hub.kill9()
    slow_shop.hub.start()
    fiscal = fiscal_of(slow_shop, sale["id"], timeout=30)
    issued = slow_shop.fp.issued()
    assert len(issued) == 1, issued
    assert fiscal["fiscal_number"] == str(issued[0]["number"]) and issued[0]["total"] == sale["total"]
