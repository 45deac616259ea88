"""The bridge keeps every hub's retained ``down/config`` at its store's version, on a real
Mosquitto (SQLite and PostgreSQL); a refused config shows in the fleet view."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from protocols.sync.messages import DesiredConfig, ReportedState, decode_config, encode
from tests.cloud.bridge_support import BridgedCloud, WireHub, eventually
from tests.cloud.test_bridge import bridged, hub

__all__ = ["bridged", "hub"]  # the fixtures, shared with test_bridge


class ConfigListener:
    """A clean MQTT session with a hub's credentials that records its ``down/config``."""

    def __init__(self, wire: WireHub, name: str) -> None:
        self.topic = wire.topics.down_config
        self.seen: list[tuple[DesiredConfig, bool]] = []
        self._lock = threading.Lock()
        ready = threading.Event()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"{wire.topics.hub}-{name}",
                             protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        client.username_pw_set(wire.username, wire.password)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
            c.subscribe(self.topic, 1)
            ready.set()

        client.on_connect = on_connect
        client.on_message = self._message
        client.connect("127.0.0.1", wire.port)
        client.loop_start()
        assert ready.wait(10)
        self.client = client

    def _message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.seen.append((decode_config(bytes(message.payload)), bool(message.retain)))

    def versions(self) -> list[int]:
        with self._lock:
            return [config.version for config, _ in self.seen]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _put(bridged: BridgedCloud, path: str, body: Any) -> None:
    response = await bridged.client.put(f"/api/v1/config/{path}", json=body, headers=bridged.headers)
    assert response.status_code in (200, 201), response.text


async def test_a_hub_receives_its_stores_version_retained_after_each_write(
    bridged: BridgedCloud, hub: WireHub
) -> None:
    listener = ConfigListener(hub, "live")
    try:
        hub.status("online", 1)  # coming online publishes the current version, 0
        await eventually(lambda: 0 in listener.versions(), what="version 0 on coming online")
        await _put(bridged, "tax_rates/1", {"name": "VAT", "rate": "19"})
        await eventually(lambda: listener.versions()[-1:] == [1], what="version 1 after a write")
        await _put(bridged, "products/10", {"name": "Tea", "price": 200, "tax_rate_id": 1})
        await eventually(lambda: listener.versions()[-1:] == [2], what="version 2")
        config = listener.seen[-1][0]
        assert config.fetch_url == "/api/v1/hub/config" and config.sections == {}
        # An override of another store does not move this store's version: nothing is sent.
        other = await bridged.client.post("/api/v1/stores", json=_store(), headers=bridged.headers)
        response = await bridged.client.put(f"/api/v1/stores/{other.json()['id']}/config/products/10",
                                            json={"name": "Tea", "price": 150}, headers=bridged.headers)  # fmt: skip
        assert response.status_code == 201, response.text
        await _put(bridged, "units/5", {"name": "Piece", "abbreviation": "pc"})
        await eventually(lambda: listener.versions()[-1:] == [4], what="version 4")
        assert 3 not in listener.versions()
    finally:
        listener.close()
    late = ConfigListener(hub, "late")  # a hub connecting later finds the retained version
    try:
        await eventually(lambda: late.versions() == [4], what="retained version 4")
        assert late.seen[0][1] is True
    finally:
        late.close()


def _store() -> dict[str, Any]:
    from tests.cloud.conftest import store_body

    return store_body("Second")


async def test_a_refused_config_shows_in_the_fleet_view(bridged: BridgedCloud, hub: WireHub) -> None:
    hub.status("online", 1)
    report = ReportedState(config_version=3, software_version="1.2.3", devices=[], backlog=0, at="2026-11-29T10:00:00Z",
                           rejected_config_version=4, config_error="products/10: no tax_rates item 9")  # fmt: skip
    hub.send(hub.topics.up_state, encode(report), retain=True)

    async def row() -> dict[str, Any]:
        fleet_hub: dict[str, Any] = (await bridged.fleet())["hubs"][0]
        return fleet_hub

    shown = await eventually(
        row, what="the refusal in the fleet view", until=lambda h: h["rejected_config_version"] == 4
    )
    assert (
        shown["config_error"] == "products/10: no tax_rates item 9" and shown["applied_config_version"] == 3
    )
    one = await bridged.client.get(f"/api/v1/hubs/{hub.topics.hub}", headers=bridged.headers)
    assert one.json()["rejected_config_version"] == 4
