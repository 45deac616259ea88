"""The hub's cloud link against a real Mosquitto with password and ACL files: facts arrive once,
in order, through broker restarts and offline periods; hubs are confined to their own topics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from protocols.sync import HubTopics
from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.hub.sync.cloud_peer import CloudPeer
from tests.support.broker import MosquittoBroker
from tests.support.procs import HubProcess, wait_for

HUB = HubTopics("acme", "store-1", "hub-a")
OTHER = HubTopics("acme", "store-2", "hub-b")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    server = MosquittoBroker(tmp_path)
    server.add_hub(HUB, "secret-a")
    server.add_hub(OTHER, "secret-b")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sync_toml(broker: MosquittoBroker, topics: HubTopics = HUB, password: str = "secret-a") -> str:
    return (
        f'[sync]\nenabled = true\nbroker = "mqtt://127.0.0.1:{broker.port}"\nusername = "{topics.hub}"\n'
        f'password = "{password}"\ntenant = "{topics.tenant}"\nstore = "{topics.store}"\nhub_id = "{topics.hub}"\n'
        "keepalive_s = 5\nack_timeout_s = 2\n"
    )


def sell(hub: HubProcess, product: int, key: str) -> None:
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=product)
    assert pay(hub, cart["id"], key, cash(250), print_receipt=False)[0] == 201


def sync_status(hub: HubProcess) -> dict[str, Any]:
    return dict(hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1])


def test_sales_reach_the_cloud_once_and_are_acknowledged(tmp_path: Path, broker: MosquittoBroker) -> None:
    cloud = CloudPeer(broker.port)
    hub = HubProcess(tmp_path, [], extra_toml=sync_toml(broker)).start()
    try:
        ids = seed_catalog(hub)
        for i in range(20):
            sell(hub, ids["SOK1"], f"s{i}")
        wait_for(lambda: cloud.count("hub-a", "sale.completed") == 20, 15, what="20 sales in the cloud")
        wait_for(lambda: sync_status(hub)["backlog"] == 0, 10, what="backlog drained")
        seqs = cloud.seqs("hub-a")  # the sales and the catalog's audit entries, each once
        assert seqs == list(range(1, len(seqs) + 1))
        status = sync_status(hub)
        assert status["connected"] and status["last_ack"] == len(seqs)
        assert cloud.statuses[-1].state == "online" and cloud.statuses[-1].session >= 1
        cli = hub.cli("sync", "status")
        assert cli.returncode == 0 and "connected" in cli.stdout and "Backlog      0" in cli.stdout
    finally:
        hub.stop()
        cloud.close()


def test_broker_restart_and_a_day_offline_lose_nothing_and_store_nothing_twice(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    cloud = CloudPeer(broker.port)
    hub = HubProcess(tmp_path, [], extra_toml=sync_toml(broker)).start()
    try:
        ids = seed_catalog(hub)
        for i in range(10):
            sell(hub, ids["SOK1"], f"a{i}")
        broker.restart()  # in the middle of the stream
        for i in range(10):
            sell(hub, ids["SOK1"], f"b{i}")
        wait_for(lambda: cloud.count("hub-a", "sale.completed") == 20, 15, what="the first 20 sales")
        first = cloud.seqs("hub-a")
        total = first[-1] + 200
        cloud.close()
        broker.stop()  # the internet is gone: the hub keeps selling
        for i in range(200):
            sell(hub, ids["SOK1"], f"c{i}")
        offline = sync_status(hub)
        assert not offline["connected"] and offline["backlog"] >= 200
        broker.start()
        deliveries_before = cloud.deliveries
        cloud = CloudPeer(broker.port, store=cloud.events)  # the cloud comes back with its database
        wait_for(lambda: sync_status(hub)["backlog"] == 0, 30, what="all acknowledged")
        # The cloud holds every fact exactly once, and what it had acknowledged before the
        # outage was not sent again.
        assert first == list(range(1, len(first) + 1))
        assert cloud.seqs("hub-a") == list(range(1, total + 1))
        assert cloud.count("hub-a", "sale.completed") == 220
        # Acknowledged facts are never sent again (repeats of unacknowledged ones are fine).
        assert deliveries_before >= 20 and min(cloud.delivered) > offline["last_ack"]
    finally:
        hub.stop()
        cloud.close()


def _client(port: int, username: str, password: str) -> tuple[mqtt.Client, dict[str, Any]]:
    seen: dict[str, Any] = {"connect": None, "suback": None, "puback": None, "messages": []}
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"probe-{username}",
                         protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
    client.username_pw_set(username, password)

    def connected(c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        seen["connect"] = reason
        done.set()

    client.on_connect = connected
    client.on_subscribe = lambda c, u, mid, codes, props: seen.update(suback=codes)
    client.on_publish = lambda c, u, mid, reason, props: seen.update(puback=reason)
    client.on_message = lambda c, u, message: seen["messages"].append(message.topic)
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(5)
    return client, seen


def test_a_hub_is_confined_to_its_own_topics(broker: MosquittoBroker) -> None:
    cloud = CloudPeer(broker.port)
    wrong, seen = _client(broker.port, "hub-a", "not-the-password")
    assert seen["connect"] is not None and seen["connect"].is_failure
    wrong.loop_stop()
    hub_a, seen = _client(broker.port, "hub-a", "secret-a")
    try:
        assert not seen["connect"].is_failure
        hub_a.subscribe([(OTHER.down_jobs, 1), (HUB.down_jobs, 1)])
        wait_for(lambda: seen["suback"] is not None, 5, what="SUBACK")
        # Mosquitto grants the subscription but never delivers what the ACL forbids.
        cloud.client.publish(OTHER.down_jobs, b"for hub b", qos=1).wait_for_publish(5)
        cloud.client.publish(HUB.down_jobs, b"for hub a", qos=1).wait_for_publish(5)
        wait_for(lambda: seen["messages"], 5, what="hub A's own job")
        assert seen["messages"] == [HUB.down_jobs]
        envelope = b'{"seq":1,"id":"x","type":"shift.opened","occurred_at":"t","payload":{}}'
        hub_a.publish(OTHER.up_events, envelope, qos=1).wait_for_publish(5)
        wait_for(lambda: seen["puback"] is not None, 5, what="PUBACK")
        assert seen["puback"].is_failure  # "not authorized"
        assert cloud.seqs("hub-b") == []
        # Revoking hub A (credentials removed, broker reloaded) cuts it off.
        broker.remove_user("hub-a")
        broker.reload()
        again, seen = _client(broker.port, "hub-a", "secret-a")
        assert seen["connect"] is not None and seen["connect"].is_failure
        again.loop_stop()
    finally:
        hub_a.loop_stop()
        cloud.close()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    server = MosquittoBroker(tmp_path / "tls", tls=True)
    server.add_hub(HUB, "secret-a")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_tls_link_with_the_brokers_ca(tmp_path: Path, tls_broker: MosquittoBroker) -> None:
    broker = tls_broker
    cloud = CloudPeer(broker.port, ca_file=broker.ca_file)
    toml = sync_toml(broker).replace("mqtt://", "mqtts://") + f'ca_file = "{broker.ca_file}"\n'
    hub = HubProcess(tmp_path, [], extra_toml=toml).start()
    try:
        wait_for(lambda: sync_status(hub)["connected"], 10, what="a TLS link")
        ids = seed_catalog(hub)
        sell(hub, ids["SOK1"], "tls-1")
        wait_for(lambda: sync_status(hub)["backlog"] == 0, 10, what="the sale acknowledged over TLS")
        assert cloud.count("hub-a", "sale.completed") == 1
        hub.stop()
        # A broker whose certificate the hub cannot verify is refused, not trusted.
        (tmp_path / "other").mkdir()
        untrusting = HubProcess(
            tmp_path / "other", [], extra_toml=sync_toml(broker).replace("mqtt://", "mqtts://")
        )
        untrusting.start()
        try:
            error = wait_for(lambda: sync_status(untrusting)["last_error"], 10, what="a TLS refusal")
            assert "certificate verify failed" in error and not sync_status(untrusting)["connected"]
        finally:
            untrusting.stop()
    finally:
        hub.stop()
        cloud.close()
