"""The cloud's MQTT bridge against a real Mosquitto whose password and ACL files the cloud writes.

Every test runs on SQLite and on the machine's PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.db.engine import make_engine, make_session_factory
from cloud.db.migrate import upgrade
from cloud.settings import Settings
from protocols.sync.messages import DeviceState
from tests.cloud.bridge_support import BridgedCloud, WireHub, envelope, eventually, sale
from tests.cloud.conftest import PASSWORD, store_body
from tests.support.broker import MosquittoBroker


@pytest.fixture
async def bridged(db_url: str, tmp_path: Path) -> AsyncIterator[BridgedCloud]:
    broker = MosquittoBroker(tmp_path)
    broker.start()
    await upgrade(db_url)
    settings = Settings(
        db_url=db_url,
        broker_url=f"mqtt://127.0.0.1:{broker.port}",
        bridge_username="cloud",
        bridge_password="cloud-secret",
        mosquitto_password_file=str(broker.password_file),
        mosquitto_acl_file=str(broker.acl_file),
        mosquitto_pid_file=str(broker.pid_file),
    )
    app = create_app(settings)
    engine = make_engine(db_url)
    try:
        async with AsyncTestClient(app=app) as client:
            sessions = make_session_factory(engine)
            from cloud.domain.tenants.services import TenantService
            from cloud.domain.users.services import UserService

            async with sessions() as session:
                tenant = await TenantService(session).create("Acme")
                await UserService(session).create(tenant.id, email="admin@acme.example", password=PASSWORD,
                                                  role="admin")  # fmt: skip
            login = await client.post(
                "/api/v1/auth/login", json={"email": "admin@acme.example", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            store = await client.post("/api/v1/stores", json=store_body("Acme Main"), headers=headers)
            assert store.status_code == 201, store.text
            await eventually(lambda: app.state.bridge.client.connected.is_set(), what="bridge connected")
            yield BridgedCloud(app, client, sessions, broker.port, headers, store.json()["id"])
    finally:
        await engine.dispose()
        broker.stop()


@pytest.fixture
async def hub(bridged: BridgedCloud) -> AsyncIterator[WireHub]:
    wire = (await bridged.new_hub()).connect()
    assert not wire.refused, wire.connect_result
    try:
        yield wire
    finally:
        wire.close()


async def test_facts_are_stored_once_in_spite_of_repeats_and_reordering(
    bridged: BridgedCloud, hub: WireHub
) -> None:
    for seq in range(1, 31):
        hub.event(seq)
    await eventually(lambda: hub.last_ack() == 30, what="ack of 30")
    for seq in range(10, 21):  # a reconnect resends what it was not sure about
        hub.event(seq)
    hub.event(32, "sale.completed", sale(32))  # 31 lost on the way
    await eventually(lambda: 31 in hub.resend_requests(), what="a resend request for 31")
    assert hub.last_ack() == 30  # never past the hole
    hub.event(31, "sale.completed", sale(31))
    await eventually(lambda: hub.last_ack() == 32, what="ack of 32")
    assert await bridged.seqs(hub) == list(range(1, 33))
    assert await bridged.count(hub, "sale.completed") == 2
    fleet = await bridged.fleet()
    assert fleet["hubs"][0]["ingested_seq"] == 32


async def test_unreadable_messages_are_dead_lettered_and_ingest_goes_on(
    bridged: BridgedCloud, hub: WireHub
) -> None:
    hub.send(hub.topics.up_events, b"\xff not json")  # no seq: cannot be placed, not acknowledged
    hub.event(1)
    hub.event(2, "coupon.printed")  # a type this cloud does not know
    hub.send(hub.topics.up_events, envelope(3).replace(b'"v":1', b'"v":2'))  # a newer major version
    hub.event(4, "sale.completed", sale(4))
    bad_sale = envelope(5, "sale.completed", sale(5)).replace(b'"total":1190', b'"total":"lots"')
    hub.send(hub.topics.up_events, bad_sale)
    hub.event(6)
    hub.send(hub.topics.status, b"{}")
    await eventually(lambda: hub.last_ack() == 6, what="ack of 6 past the bad facts")
    assert await bridged.seqs(hub) == [1, 4, 6]
    letters = await eventually(bridged.dead_letters, what="5 dead letters", until=lambda rows: len(rows) == 5)
    by_seq = {row.seq: row for row in letters}
    assert set(by_seq) == {None, 2, 3, 5}
    assert "unknown type 'coupon.printed'" in by_seq[2].reason
    assert "schema version 2" in by_seq[3].reason
    assert "total" in by_seq[5].reason and by_seq[5].payload == bad_sale
    assert all(row.hub_id == uuid.UUID(hub.topics.hub) for row in letters)
    shown = await bridged.client.get("/api/v1/dead-letters", headers=bridged.headers)
    assert shown.status_code == 200 and len(shown.json()) == 5


async def test_a_late_will_does_not_mark_a_reconnected_hub_offline(bridged: BridgedCloud) -> None:
    wire = await bridged.new_hub()
    first = WireHub(wire.topics, wire.username, wire.password, wire.port).connect(session=1)
    first.status("online", 1)
    await eventually(lambda: _fleet_hub(bridged, online=True), what="hub online")
    # The hub reconnects on a new session before the broker gave up on the old one ...
    first.close()
    second = WireHub(wire.topics, wire.username, wire.password, wire.port).connect(session=2)
    second.status("online", 2)
    await eventually(lambda: _fleet_hub(bridged, online=True, software="1.2.3"), what="session 2")
    # ... and then the old session's will arrives.
    second.status("offline", 1)
    second.event(1)  # a marker: once it is acked, the stale will was processed before it
    await eventually(lambda: second.last_ack() == 1, what="marker ack")
    assert (await bridged.fleet())["hubs"][0]["online"] is True
    # The current session's own will does mark it offline.
    second.drop()
    await eventually(lambda: _fleet_hub(bridged, online=False), what="offline after the will")


async def _fleet_hub(bridged: BridgedCloud, *, online: bool, software: str | None = None) -> bool:
    hub = (await bridged.fleet())["hubs"][0]
    return bool(hub["online"] is online and (software is None or hub["software_version"] == software))


async def test_reported_state_fills_the_fleet_view(bridged: BridgedCloud, hub: WireHub) -> None:
    hub.status("online", 1)
    devices = [
        DeviceState(id="receipt", kind="printer", status="online", details={"conditions": []}),
        DeviceState(id="drawer", kind="cash_drawer", status="error", details={"conditions": ["jam"]}),
    ]
    hub.state(devices, config_version=7, backlog=12)

    async def shown() -> dict[str, object] | None:
        view = await bridged.fleet()
        # The hub row is read before its devices, so wait on the hub's fields.
        return view if view["hubs"][0]["applied_config_version"] == 7 else None

    view = await eventually(shown, what="devices in the fleet view")
    row = view["hubs"][0]
    print("ROW", row)
    assert row["applied_config_version"] == 7 and row["backlog"] == 12 and row["online"] is True
    assert {(d["device_id"], d["status"]) for d in row["devices"]} == {
        ("receipt", "online"),
        ("drawer", "error"),
    }
    assert row["devices_down"] == 1
    assert view["summary"] == {
        "hubs": 1,
        "online": 1,
        "offline": 0,
        "pending": 0,
        "devices_down": 1,
        "backlog": 12,
    }
    # A device kind the cloud does not know is refused whole: nothing changes.
    hub.state([DeviceState(id="x", kind="toaster", status="online")], config_version=8)
    await eventually(bridged.dead_letters, what="dead letter")
    assert (await bridged.fleet())["hubs"][0]["applied_config_version"] == 7


async def test_each_hub_reaches_only_its_own_topics_and_revocation_cuts_it_off(
    bridged: BridgedCloud, hub: WireHub
) -> None:
    other = (await bridged.new_hub("Till 2")).connect()
    try:
        wrong = WireHub(hub.topics, hub.username, "not-the-password", hub.port).connect()
        assert wrong.refused
        wrong.close()
        # Hub A writes a fact into hub B's subtree: the broker refuses it, B's record is untouched.
        assert hub.client is not None
        info = hub.client.publish(other.topics.up_events, envelope(1), qos=1)
        info.wait_for_publish(10)
        other.event(1)
        await eventually(lambda: other.last_ack() == 1, what="B's own fact")
        assert await bridged.seqs(other) == [1]
        assert await bridged.seqs(hub) == []
        # Revoked through the API: the broker drops the live session and refuses a new one.
        revoked = await bridged.client.delete(f"/api/v1/hubs/{hub.topics.hub}", headers=bridged.headers)
        assert revoked.status_code == 204
        await eventually(
            lambda: hub.client is not None and not hub.client.is_connected(), what="hub A dropped"
        )
        again = WireHub(hub.topics, hub.username, hub.password, hub.port).connect()
        assert again.refused
        again.close()
        other.event(2)  # hub B carries on
        await eventually(lambda: other.last_ack() == 2, what="B still acknowledged")
    finally:
        other.close()
