"""Selling by weight through a real hub and ``smartpos-sim scale`` (MT-SICS) on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for
from tests.support.terminal_sim import DeviceSim


@pytest.fixture
def store(tmp_path: Path, sim: PrinterSim) -> Iterator[tuple[HubProcess, DeviceSim, dict[str, int]]]:
    scale = DeviceSim("scale", "sics", link=tmp_path / "scale-tty").start()
    device = {"id": "scale-t1", "kind": "scale", "driver": "sics", "url": f"serial://{scale.link}",
              "role": "scale", "terminal": "T1", "options": {"poll_interval": 1.0}}  # fmt: skip
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5), device])
    try:
        hub.start()
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/scale-t1")[1]["status"] == "online", 15, what="scale"
        )
        yield hub, scale, seed_catalog(hub)
    finally:
        hub.stop()
        scale.stop()


def weigh_line(hub: HubProcess, cart_id: str, product_id: int) -> tuple[int, Any]:
    return hub.api("POST", f"/api/v1/carts/{cart_id}/lines", {"product_id": product_id, "weigh": True})


def test_a_stable_weight_is_sold_at_unit_price_times_weight_and_printed(
    store: tuple[HubProcess, DeviceSim, dict[str, int]], sim: PrinterSim
) -> None:
    hub, scale, ids = store
    scale.control("weight 1234")
    reading = hub.api("GET", "/api/v1/devices/scale-t1/weight")[1]
    assert reading["milligrams"] == 1_234_000 and reading["stable"] is True
    cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})[1]
    status, priced = weigh_line(hub, cart["id"], ids["SIR1"])
    assert status == 201, priced
    line = priced["lines"][0]
    # 18.90 a kilogram x 1.234 kg = 23.3226 -> 23.32 (minor units, half up).
    assert line["quantity"] == "1.234" and line["total"] == 2332 and line["note"].startswith("1.234 kg")
    status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                           {"idempotency_key": "w-1", "payments": [{"tender_id": "cash", "amount": 2500}]})  # fmt: skip
    assert status == 201, sale
    hub.wait_job(sale["print_job_id"])
    assert "1.234 kg" in sim.paper()


def test_only_a_stable_weight_within_range_is_sold(
    store: tuple[HubProcess, DeviceSim, dict[str, int]],
) -> None:
    hub, scale, ids = store
    cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})[1]
    scale.control("weight 500")
    scale.control("motion on")
    status, body = weigh_line(hub, cart["id"], ids["SIR1"])
    assert (status, body["error"]["code"]) == (409, "weight_unstable")
    scale.control("motion off")
    scale.control("overload on")
    status, body = weigh_line(hub, cart["id"], ids["SIR1"])
    assert (status, body["error"]["code"]) == (409, "scale_overload")
    scale.control("overload off")
    scale.control("weight 0")
    status, body = weigh_line(hub, cart["id"], ids["SIR1"])
    assert (status, body["error"]["code"]) == (422, "weight_zero")
    assert hub.api("GET", f"/api/v1/carts/{cart['id']}")[1]["lines"] == []
    other = hub.api("POST", "/api/v1/carts", {"terminal_id": "T2"})[1]  # T2 has no scale
    status, body = weigh_line(hub, other["id"], ids["SIR1"])
    assert (status, body["error"]["code"]) == (422, "no_scale")


def test_tare_and_the_weighing_dialog_streams_weight_changes(
    store: tuple[HubProcess, DeviceSim, dict[str, int]],
) -> None:
    hub, scale, _ = store
    scale.control("weight 120")
    assert hub.api("POST", "/api/v1/devices/scale-t1/tare", {})[0] == 200
    assert hub.api("GET", "/api/v1/devices/scale-t1/weight")[1]["milligrams"] == 0
    assert hub.api("POST", "/api/v1/devices/scale-t1/weighing", {"seconds": 10})[0] == 200
    scale.control("weight 620")

    async def until_500_grams() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                f"{hub.url}/api/v1/events?last_id=0", headers={"Authorization": f"Bearer {hub.token}"}
            ) as ws,
        ):
            async with asyncio.timeout(15):
                async for message in ws:
                    event = json.loads(message.data)
                    if event["type"] == "scale.weight":
                        seen.append(event["data"])
                        if event["data"]["milligrams"] == 500_000 and event["data"]["stable"]:
                            return seen
        return seen

    events = asyncio.run(until_500_grams())
    assert events[-1]["terminal_id"] == "T1" and events[-1]["device_id"] == "scale-t1"
