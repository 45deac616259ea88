"""The desired config end to end: the cloud's retained ``down/config`` on a real Mosquitto, a
hub process that fetches the delta from an aiohttp server (HTTP Basic with its broker
credentials), applies it, sells at the new price, serves the layout to the POS pages, and
reports the applied (or rejected) version on ``up/state`` and in ``smartpos-hub sync status``."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from protocols.sync.messages import DesiredConfig, encode
from tests.hub.sync.cloud_peer import CloudPeer
from tests.hub.sync.config_support import CEVAPI, delta_bytes, full_config, item, product
from tests.hub.sync.test_cloud_link import HUB, sync_toml
from tests.support.broker import MosquittoBroker
from tests.support.procs import HubProcess, wait_for

PATH = "/api/v1/sync/config"


class ThreadedDeltaServer:
    """An aiohttp server in its own thread (the hub and the MQTT peer are driven synchronously)."""

    def __init__(self, username: str, password: str) -> None:
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.body = b""
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.auth:
            return web.Response(status=401)
        self.requests.append(request.query_string)
        return web.Response(body=self.body, content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get(PATH, self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def start(self) -> ThreadedDeltaServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


Setup = tuple[HubProcess, CloudPeer, ThreadedDeltaServer]


@pytest.fixture
def linked(tmp_path: Path) -> Iterator[Setup]:
    broker = MosquittoBroker(tmp_path)
    broker.add_hub(HUB, "secret-a")
    broker.start()
    server = ThreadedDeltaServer(HUB.hub, "secret-a").start()
    cloud = CloudPeer(broker.port)
    hub = HubProcess(tmp_path, [], extra_toml=sync_toml(broker))
    try:
        hub.start()
        wait_for(lambda: hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]["connected"], 10,
                 what="link up")  # fmt: skip
        yield hub, cloud, server
    finally:
        hub.stop()
        cloud.close()
        server.stop()
        broker.stop()


def want(cloud: CloudPeer, server: ThreadedDeltaServer, version: int) -> None:
    desired = DesiredConfig(version=version, fetch_url=server.url + PATH)
    cloud.client.publish(HUB.down_config, encode(desired), qos=1, retain=True).wait_for_publish(5)


def reported(cloud: CloudPeer, check: Any) -> Any:
    def latest() -> Any:
        with cloud.lock:
            state = cloud.states_reported[-1] if cloud.states_reported else None
        return state if state is not None and check(state) else None

    return wait_for(latest, 15, what="the reported state")


def sell(hub: HubProcess, key: str) -> int:
    admin = hub.admin_token  # employees exist now: the admin credential sells without a PIN login
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"}, token=admin)
    assert status == 201, cart
    assert hub.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": CEVAPI}, token=admin)[0] == 201
    body = {
        "idempotency_key": key,
        "payments": [{"tender_id": "cash", "amount": 5000}],
        "print_receipt": False,
    }
    status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout", body, token=admin)
    assert status == 201, sale
    return int(sale["total"])


def test_the_hub_fetches_applies_and_reports_the_desired_config(linked: Setup) -> None:
    hub, cloud, server = linked
    server.body = delta_bytes(5, full_config())
    want(cloud, server, 5)
    reported(cloud, lambda s: s.config_version == 5)
    assert server.requests == ["since=0"]
    assert sell(hub, "e2e-1") == 1170
    status, layouts = hub.api("GET", "/api/v1/config/layouts")
    assert status == 200 and [d["key"] for d in layouts["documents"]] == ["main"]
    assert layouts["documents"][0]["body"]["name"] == "Glavni"
    status, error = hub.api("GET", "/api/v1/config/products")
    assert status == 404 and error["error"]["code"] == "unknown_section"
    # A delta with a broken reference: refused, reported, and the store sells as before.
    bad = [item("products", CEVAPI, product("Ćevapi", 999, category_id=404), revision=6)]
    server.body = delta_bytes(6, bad, since=5)
    want(cloud, server, 6)
    state = reported(cloud, lambda s: s.rejected_config_version == 6)
    assert state.config_version == 5 and "products 100 field category_id" in state.config_error
    assert server.requests == ["since=0", "since=5"]
    assert sell(hub, "e2e-2") == 1170
    out = hub.cli("sync", "status")
    assert "applied version 5" in out.stdout, out.stdout + out.stderr
    assert "version 6 rejected: products 100 field category_id" in out.stdout
