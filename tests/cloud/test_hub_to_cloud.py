"""End to end: a hub claimed from the cloud reports its sales, shifts and devices, survives a
broker restart and a day offline, and obeys remote jobs. Real processes throughout: the
cloud service with its bridge (SQLite, and PostgreSQL for the broker drill), Mosquitto with the files the cloud writes, the hub
daemon and the printer simulator."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from tests.cloud.stack_support import Stack
from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.staff.staff_support import Staff, hire, without_shift_clock
from tests.support.procs import wait_for


def test_a_claimed_hub_reports_sales_shifts_and_devices_through_a_broker_restart(
    stack_on_each_db: Stack,
) -> None:
    stack = stack_on_each_db
    hub = stack.hub.start()
    wait_for(lambda: stack.fleet_hub()["online"], 20, what="the hub online in the fleet view")
    device = wait_for(lambda: stack.fleet_hub()["devices"], 20, what="the hub's devices")[0]
    assert (device["device_id"], device["kind"], device["status"]) == ("receipt", "printer", "online")
    ids = seed_catalog(hub)
    without_shift_clock(hub)
    hire(hub)
    owner = Staff(hub, 1, "1111")
    owner.open_shift()
    sold: list[int] = []
    errors: list[BaseException] = []

    def selling() -> None:
        try:
            for i in range(60):
                owner.sell(ids["SOK1"], 250, f"sale-{i}")
                sold.append(i)
        except BaseException as exc:  # reported by the test's thread below
            errors.append(exc)

    seller = threading.Thread(target=selling)
    seller.start()
    # The broker goes away while the tablet keeps selling: facts are in flight and more pile
    # up unacknowledged, then it comes back.
    wait_for(lambda: len(sold) >= 15 or errors, 30, what="selling under way")
    stack.broker.stop()
    wait_for(lambda: len(sold) >= 30 or errors, 30, what="sales while the broker is down")
    status = hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]
    assert not status["connected"] and status["backlog"] > 0
    stack.broker.start()
    seller.join(120)
    assert not errors and len(sold) == 60
    wait_for(lambda: stack.cloud_count("sale.completed") == 60, 60, what="60 sales in the cloud")
    assert stack.cloud_count("shift.opened") == 1
    assert stack.distinct_sales() == 60  # each sale once, not merely each seq once
    # The hub reports its drained backlog at once, not at its next periodic report (30 s).
    wait_for(lambda: stack.fleet_hub()["backlog"] == 0, 15, what="the fleet view's backlog drained")
    assert stack.fleet_hub()["software_version"] and stack.fleet_hub()["last_seen_at"]


async def _sell_many(url: str, token: str, product: int, count: int, clients: int = 4) -> None:
    """``count`` one-item cash sales from ``clients`` tablets at once."""
    headers = {"Authorization": f"Bearer {token}"}
    numbers = iter(range(count))

    async def tablet(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            async with session.post(f"{url}/api/v1/carts", json={"terminal_id": "T1"}) as r:
                assert r.status == 201, await r.text()
                cart = (await r.json())["id"]
            async with session.post(f"{url}/api/v1/carts/{cart}/lines", json={"product_id": product}) as r:
                assert r.status == 201, await r.text()
            body = {"idempotency_key": f"day-{n}", "payments": [{"tender_id": "cash", "amount": 250}],
                    "print_receipt": False}  # fmt: skip
            async with session.post(f"{url}/api/v1/carts/{cart}/checkout", json=body) as r:
                assert r.status == 201, await r.text()

    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*(tablet(session) for _ in range(clients)))


@pytest.mark.timeout(300)
def test_a_day_offline_with_5000_sales_arrives_exactly_once(stack: Stack) -> None:
    stack.broker.stop()  # the store's internet is down all day
    hub = stack.hub.start()
    ids = seed_catalog(hub)
    asyncio.run(_sell_many(f"http://127.0.0.1:{hub.port}", hub.token, ids["SOK1"], 5000))
    assert stack.fleet_hub()["online"] is False
    assert stack.cloud_count("sale.completed") == 0
    stack.broker.start()  # back online
    wait_for(
        lambda: stack.cloud_count("sale.completed") == 5000,
        180,
        interval=0.5,
        what="5,000 sales in the cloud",
    )
    assert stack.distinct_sales() == 5000
    wait_for(lambda: stack.hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]["backlog"] == 0, 30,
             what="the hub's backlog empty")  # fmt: skip
