"""Sales fiscalised by a real hub through simulated Datecs C and Tremol ZFP fiscal printers.

The minimal pattern of ``test_fiscal_e2e.py`` (which covers the Datecs X driver under every
fault) for the two other protocols: a hub process with ``[fiscal] mode = "device"`` whose
fiscal printer uses the ``datecs_c`` or ``tremol`` driver, the receipt printer simulator and
``smartpos-sim fiscal`` as separate processes. A sale shows the device's fiscal number and the
device issued exactly one receipt for it, even when the answer to its close was lost or the
paper ran out; a refund is a storno receipt naming the sale; the hub's Z runs the device's Z.
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
DRIVERS = {"datecs-c": "datecs_c", "tremol": "tremol"}


@dataclass
class Shop:
    hub: HubProcess
    fp: FiscalSim
    printer: PrinterSim
    ids: dict[str, int]


def open_shop(
    protocol: str, tmp_path: Path, sim: PrinterSim, extra: list[str] | None = None, **options: Any
) -> Iterator[Shop]:
    """A hub selling through a simulated fiscal printer of ``protocol``; stopped at the end."""
    fp = FiscalSim(protocol, extra=extra).start()
    device = {"id": "fp", "kind": "fiscal_printer", "driver": DRIVERS[protocol], "url": fp.url,
              "options": {"poll_interval": 0.5, **options}}  # fmt: skip
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5), device], extra_toml=FISCAL_TOML)
    try:
        hub.start()
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/fp")[1]["status"] == "online", 15, what="fiscal printer"
        )
        yield Shop(hub, fp, sim, seed_catalog(hub))
    finally:
        hub.stop()
        fp.stop()


@pytest.fixture(params=sorted(DRIVERS))
def shop(request: pytest.FixtureRequest, tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    yield from open_shop(str(request.param), tmp_path, sim)


@pytest.fixture(params=sorted(DRIVERS))
def slow_shop(request: pytest.FixtureRequest, tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    """Every device answer takes 80 ms, and the driver gives up on a command after one try."""
    yield from open_shop(
        str(request.param), tmp_path, sim, ["--delay-ms", "80"], attempts=1, reply_timeout=0.4
    )


def sell(shop: Shop, key: str, *lines: tuple[str, str], cash: int = 5000) -> dict[str, Any]:
    hub = shop.hub
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})
    assert status == 201, cart
    for sku, quantity in lines:
        status, body = hub.api(
            "POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": shop.ids[sku], "quantity": quantity}
        )
        assert status == 201, body
    status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                           {"idempotency_key": key, "payments": [{"tender_id": "cash", "amount": cash}]})  # fmt: skip
    assert status == 201, sale
    return dict(sale)


def fiscal_of(shop: Shop, sale_id: int, timeout: float = 20.0) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        fiscal = shop.hub.api("GET", f"/api/v1/sales/{sale_id}")[1]["fiscal"]
        return fiscal if fiscal and fiscal["state"] == "fiscalised" else None

    return dict(wait_for(current, timeout, what=f"sale {sale_id} fiscalised"))


def test_a_sale_is_fiscalised_once_with_the_devices_number(shop: Shop) -> None:
    sale = sell(shop, "s-1", ("CEV10", "2"), ("SOK1", "1"))
    assert sale["fiscal"]["state"] == "pending" and sale["print_job_id"] is None
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1
    assert fiscal["fiscal_number"] == str(issued[0]["number"])
    assert issued[0]["total"] == sale["total"] == 2 * 1170 + 250
    assert [item["quantity"] for item in issued[0]["items"]] == ["2.000", "1.000"]
    assert fiscal["device_serial"] == "02123456"
    assert sale["number_text"] not in shop.printer.paper()


def test_a_lost_close_answer_still_gives_exactly_one_receipt(shop: Shop) -> None:
    shop.fp.control("drop_cmd 38")
    sale = sell(shop, "close-lost", ("SOK1", "3"))
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1 and fiscal["fiscal_number"] == str(issued[0]["number"])


def test_paper_out_holds_the_sale_until_paper_is_back(shop: Shop) -> None:
    shop.fp.control("paper_out on")
    sale = sell(shop, "paper-1", ("CEV10", "1"))

    def held() -> dict[str, Any] | None:
        fiscal = shop.hub.api("GET", f"/api/v1/sales/{sale['id']}")[1]["fiscal"]
        return fiscal if fiscal["held_reason"] == "paper_out" else None

    assert wait_for(held, 15, what="held for paper")["state"] == "pending"
    assert shop.fp.issued() == []
    shop.fp.control("paper_out off")
    fiscal = fiscal_of(shop, sale["id"])
    issued = shop.fp.issued()
    assert len(issued) == 1 and fiscal["fiscal_number"] == str(issued[0]["number"])


def test_a_refund_is_a_storno_receipt_naming_the_sale(shop: Shop) -> None:
    sale = sell(shop, "refund-source", ("CEV10", "2"))
    sold = fiscal_of(shop, sale["id"])
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
    assert storno[0]["total"] == 1170 and storno[0]["storno_of"]["document"] == int(sold["fiscal_number"])


def test_the_hubs_z_report_runs_the_devices_z(shop: Shop) -> None:
    fiscal_of(shop, sell(shop, "before-z", ("SOK1", "1"))["id"])
    status, z = shop.hub.api("POST", "/api/v1/reports/z", {}, token=shop.hub.admin_token)
    assert status == 201, z
    wait_for(lambda: json.loads(shop.fp.control("state"))["z_counter"] == 1, 15, what="device Z report")


@pytest.mark.parametrize("kill_after_s", [0.3, 0.7])
def test_kill_9_mid_receipt_then_restart_reconciles_with_the_device(
    slow_shop: Shop, kill_after_s: float
) -> None:
    # The restarted hub's driver starts its sequence numbers over, and finds whatever the
    # killed one left: nothing, an open receipt to cancel or finish, or a closed one to adopt.
    sale = sell(slow_shop, f"kill-{kill_after_s}", ("CEV10", "1"), ("SOK1", "2"), ("BAK1", "1"))
    time.sleep(kill_after_s)
    slow_shop.hub.kill9()
    slow_shop.hub.start()
    fiscal = fiscal_of(slow_shop, sale["id"], timeout=30)
    issued = slow_shop.fp.issued()
    assert len(issued) == 1, issued
    assert fiscal["fiscal_number"] == str(issued[0]["number"]) and issued[0]["total"] == sale["total"]
