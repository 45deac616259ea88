"""Outgoing webhooks (SQLite and PostgreSQL): endpoints per tenant, signed deliveries to a real
HTTP receiver, retries with the same delivery id, disabling a dead endpoint and enabling it
again, claims that two workers never share, and deliveries created by ingesting hub facts once.

The app runs its delivery worker with a fast schedule (the real one waits 10 s before the
first retry); the test client runs the app in a loop of its own, so tests wait for the worker's
polls rather than waking it. Each test runs in its temporary directory, where the cloud keeps
the key file that seals webhook secrets (next to the SQLite file, or in the current directory)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from cloud.app import create_app
from cloud.db.base import utcnow
from cloud.db.engine import make_engine, make_session_factory
from cloud.db.migrate import upgrade
from cloud.db.models_integrations import WebhookDelivery, WebhookEndpoint
from cloud.domain.webhooks import signing
from cloud.domain.webhooks.delivery import Claim, DeliveryPolicy, DeliveryWorker, Outcome
from cloud.domain.webhooks.emit import emit
from cloud.domain.webhooks.projector import project_webhooks
from cloud.settings import Settings
from cloud.sync.ingest import EventIngest, HubDirectory
from protocols.sync.messages import ShiftClosed
from protocols.sync.topics import HubTopics
from tests.cloud.bridge_support import envelope, eventually, sale
from tests.cloud.conftest import Cloud, Tenancy

FAST = DeliveryPolicy(
    backoff_s=(0.1, 0.2),
    jitter=0.0,
    max_attempts=10,
    disable_after_failures=4,
    timeout_s=2.0,
    lease_s=5.0,
    concurrency=4,
    poll_s=0.05,
    allow_private_networks=True,
)


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in ``tmp_path``: on PostgreSQL the key file goes to the current directory."""
    monkeypatch.chdir(tmp_path)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers from a script."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    seen: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""
    runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.statuses.pop(0) if self.statuses else self.default
        self.seen.append((dict(request.headers), body, status))
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    try:
        yield started
    finally:
        await started.stop()


async def app_with(db_url: str, policy: DeliveryPolicy) -> AsyncIterator[Cloud]:
    """The cloud app whose delivery worker runs with ``policy`` (in the test client's loop)."""
    await upgrade(db_url)
    settings = Settings(db_url=db_url)
    app = create_app(settings, webhooks=policy)
    engine = make_engine(db_url)
    try:
        async with AsyncTestClient(app=app) as client:
            yield Cloud(db_url, settings, app, client, make_session_factory(engine))
    finally:
        await engine.dispose()


@pytest.fixture
async def hooks(db_url: str) -> AsyncIterator[Cloud]:
    """The cloud with a fast delivery schedule (the real one waits 10 s before a retry)."""
    async for cloud in app_with(db_url, FAST):
        yield cloud


@pytest.fixture
async def quiet(db_url: str) -> AsyncIterator[Cloud]:
    """The cloud with a delivery worker that sleeps, so a test can drive workers of its own."""
    async for cloud in app_with(db_url, DeliveryPolicy(poll_s=3600.0)):
        yield cloud


async def register(cloud: Cloud, tenancy: Tenancy, url: str, *types: str) -> dict[str, Any]:
    response = await cloud.client.post(
        "/api/v1/webhooks",
        json={"url": url, "event_types": list(types) or ["order.created"]},
        headers=tenancy.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def emit_now(cloud: Cloud, tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    async with cloud.sessions() as session:
        await emit(session, tenant_id, event_type, data)
        await session.commit()


async def deliveries(cloud: Cloud, tenancy: Tenancy, webhook_id: str) -> list[dict[str, Any]]:
    response = await cloud.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=tenancy.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def check_signature(secret: str, headers: dict[str, str], body: bytes) -> None:
    timestamp = headers[signing.TIMESTAMP_HEADER]
    assert signing.verify(secret, timestamp, body, headers[signing.SIGNATURE_HEADER], now=time.time())
    assert not signing.verify(
        "whsec_wrong", timestamp, body, headers[signing.SIGNATURE_HEADER], now=time.time()
    )


async def test_a_signed_event_reaches_the_receiver_and_is_logged(hooks: Cloud, receiver: Receiver) -> None:
    acme = await hooks.tenancy("Acme")
    created = await register(hooks, acme, receiver.url, "order.created", "shift.closed")
    secret, webhook = created["secret"], created["webhook"]
    assert secret.startswith("whsec_")
    assert webhook["event_types"] == ["order.created", "shift.closed"]

    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-1", "total": 1190})
    await emit_now(hooks, acme.tenant_id, "refund.created", {"uuid": "s-2"})  # not subscribed
    await eventually(lambda: receiver.seen, what="a delivery")
    headers, body, _ = receiver.seen[0]
    check_signature(secret, headers, body)
    document = json.loads(body)
    assert document["type"] == "order.created"
    assert document["tenant_id"] == str(acme.tenant_id)
    assert document["data"] == {"uuid": "s-1", "total": 1190}
    assert headers[signing.EVENT_HEADER] == "order.created"
    assert headers[signing.DELIVERY_HEADER] == document["id"]

    log = await eventually(
        lambda: deliveries(hooks, acme, webhook["id"]), until=lambda d: d and d[0]["delivered_at"]
    )
    assert len(log) == 1
    assert log[0]["event_id"] == document["id"]
    assert log[0]["status"] == "delivered"
    assert log[0]["attempts"] == 1
    assert log[0]["last_status_code"] == 200
    assert log[0]["next_attempt_at"] is None
    await asyncio.sleep(0.3)
    assert len(receiver.seen) == 1  # nothing twice, and the unsubscribed type never went

    # the secret is shown once: reads never carry it
    listed = (await hooks.client.get("/api/v1/webhooks", headers=acme.headers)).json()
    assert "secret" not in listed[0]
    assert secret not in json.dumps(listed)

    # a rotated secret signs every later attempt
    rotated = await hooks.client.post(f"/api/v1/webhooks/{webhook['id']}/rotate-secret", headers=acme.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != secret
    await emit_now(hooks, acme.tenant_id, "shift.closed", {"shift_id": 7})
    await eventually(lambda: len(receiver.seen) == 2, what="the second delivery")
    check_signature(new_secret, receiver.seen[1][0], receiver.seen[1][1])


async def test_a_failing_receiver_gets_the_same_delivery_again_until_it_answers_2xx(
    hooks: Cloud, receiver: Receiver
) -> None:
    acme = await hooks.tenancy("Acme")
    created = await register(hooks, acme, receiver.url)
    receiver.statuses = [500, 500, 200]
    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-1"})
    await eventually(lambda: len(receiver.seen) >= 3, what="three attempts")
    ids = {h[signing.DELIVERY_HEADER] for h, _, _ in receiver.seen}
    bodies = {b for _, b, _ in receiver.seen}
    assert len(ids) == 1 and len(bodies) == 1
    for headers, body, _ in receiver.seen:
        check_signature(created["secret"], headers, body)
    log = await eventually(
        lambda: deliveries(hooks, acme, created["webhook"]["id"]),
        until=lambda d: d and d[0]["status"] == "delivered",
    )
    assert log[0]["attempts"] == 3
    assert log[0]["last_status_code"] == 200
    assert log[0]["last_error"] is None
    await asyncio.sleep(0.4)
    assert len(receiver.seen) == 3
    endpoint = (
        await hooks.client.get(f"/api/v1/webhooks/{created['webhook']['id']}", headers=acme.headers)
    ).json()
    assert endpoint["active"] is True
    assert endpoint["consecutive_failures"] == 0


async def test_an_endpoint_that_keeps_failing_is_disabled_and_resumes_when_enabled(
    hooks: Cloud, receiver: Receiver
) -> None:
    acme = await hooks.tenancy("Acme")
    created = await register(hooks, acme, receiver.url)
    webhook_id = created["webhook"]["id"]
    receiver.default = 503
    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-1"})

    async def endpoint() -> dict[str, Any]:
        body: dict[str, Any] = (
            await hooks.client.get(f"/api/v1/webhooks/{webhook_id}", headers=acme.headers)
        ).json()
        return body

    disabled = await eventually(endpoint, until=lambda e: not e["active"], what="the endpoint disabled")
    assert "4 delivery attempts failed in a row" in disabled["disabled_reason"]
    assert "HTTP 503" in disabled["disabled_reason"]
    assert disabled["disabled_at"] is not None
    attempts = len(receiver.seen)
    assert attempts == FAST.disable_after_failures
    # while disabled: nothing is sent and new events are not queued for it; the pending one waits
    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-2"})
    await asyncio.sleep(0.5)
    assert len(receiver.seen) == attempts
    log = await deliveries(hooks, acme, webhook_id)
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("pending", 4, 503)]
    assert log[0]["last_error"] == "HTTP 503"

    receiver.default = 204
    enabled = await hooks.client.post(f"/api/v1/webhooks/{webhook_id}/enable", headers=acme.headers)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["active"] is True and enabled.json()["disabled_reason"] is None
    log = await eventually(
        lambda: deliveries(hooks, acme, webhook_id),
        until=lambda d: d[0]["status"] == "delivered",
        what="redelivery",
    )
    assert log[0]["attempts"] == 5
    assert receiver.seen[-1][2] == 204
    assert len({h[signing.DELIVERY_HEADER] for h, _, _ in receiver.seen}) == 1

    # an admin can have a delivery sent again: same event id, one more attempt
    again = await hooks.client.post(
        f"/api/v1/webhooks/{webhook_id}/deliveries/{log[0]['id']}/redeliver", headers=acme.headers
    )
    assert again.status_code == 200, again.text
    await eventually(lambda: len(receiver.seen) == 6, what="the redelivery")
    assert receiver.seen[-1][0][signing.DELIVERY_HEADER] == receiver.seen[0][0][signing.DELIVERY_HEADER]
    missing = await hooks.client.post(
        f"/api/v1/webhooks/{webhook_id}/deliveries/{uuid.uuid4()}/redeliver", headers=acme.headers
    )
    assert missing.status_code == 404


async def test_an_unreachable_or_slow_receiver_is_retried_without_blocking_others(
    hooks: Cloud, receiver: Receiver
) -> None:
    acme = await hooks.tenancy("Acme")
    # nothing listens on port 9 of 127.0.0.1 (discard): connection refused
    dead = await register(hooks, acme, "http://127.0.0.1:9/hook")
    alive = await register(hooks, acme, receiver.url)
    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-1"})
    await eventually(lambda: receiver.seen, what="the live endpoint's delivery")
    log = await eventually(
        lambda: deliveries(hooks, acme, dead["webhook"]["id"]), until=lambda d: d and d[0]["attempts"] >= 1
    )
    await eventually(
        lambda: deliveries(hooks, acme, dead["webhook"]["id"]), until=lambda d: d[0]["last_error"] is not None
    )
    log = await deliveries(hooks, acme, dead["webhook"]["id"])
    assert log[0]["status"] == "pending"
    assert log[0]["last_status_code"] is None
    assert log[0]["last_error"]
    alive_log = await deliveries(hooks, acme, alive["webhook"]["id"])
    assert alive_log[0]["event_id"] == log[0]["event_id"]  # one event, one id, every endpoint


async def test_two_workers_never_claim_the_same_delivery_and_a_lost_claim_is_retried(quiet: Cloud) -> None:
    cloud = quiet
    acme = await cloud.tenancy("Acme")
    await register(cloud, acme, "http://127.0.0.1:9/hook")
    for n in range(12):
        await emit_now(cloud, acme.tenant_id, "order.created", {"n": n})
    # A lease long enough that a busy machine cannot let it lapse between the claims below.
    policy = DeliveryPolicy(lease_s=3.0, timeout_s=0.2, batch=50, concurrency=50)
    one, two = DeliveryWorker(cloud.sessions, policy), DeliveryWorker(cloud.sessions, policy)
    first, second = await asyncio.gather(one.claim(12), two.claim(12))
    ids = [c.id for c in first] + [c.id for c in second]
    assert len(ids) == len(set(ids)) == 12
    assert await one.claim(12) == []  # everything is leased

    # a worker that died holding claims: after the lease another takes them, the dead one's
    # late outcome no longer counts
    await asyncio.sleep(3.1)
    retaken = await two.claim(12)
    assert len(retaken) == 12
    assert all(c.attempts == 2 for c in retaken)
    stale = (first or second)[0]

    await one.record(stale, Outcome(ok=True, status=200, error=None))
    async with cloud.sessions() as session:
        delivered = await session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "delivered")
        )
    assert delivered == 0


async def test_an_endpoint_failing_for_a_day_is_disabled(quiet: Cloud) -> None:
    cloud = quiet
    acme = await cloud.tenancy("Acme")
    webhook_id = (await register(cloud, acme, "http://127.0.0.1:9/hook"))["webhook"]["id"]
    await emit_now(cloud, acme.tenant_id, "order.created", {"n": 1})
    now = [utcnow()]
    worker = DeliveryWorker(
        cloud.sessions, DeliveryPolicy(backoff_s=(60.0,), jitter=0.0), clock=lambda: now[0]
    )
    refused = Outcome(ok=False, status=None, error="ClientConnectorError: refused")
    [first] = await worker.claim(10)
    await worker.record(first, refused)
    assert await worker.claim(10) == []  # the retry is a minute away
    now[0] += timedelta(hours=25)
    [second] = await worker.claim(10)
    assert second.id == first.id and second.attempts == 2
    await worker.record(second, refused)
    endpoint = (await cloud.client.get(f"/api/v1/webhooks/{webhook_id}", headers=acme.headers)).json()
    assert endpoint["active"] is False
    assert endpoint["disabled_reason"].startswith("deliveries failing since")
    assert endpoint["consecutive_failures"] == 2
    now[0] += timedelta(hours=2)
    assert await worker.claim(10) == []  # a disabled endpoint's deliveries wait


async def test_private_addresses_are_refused_unless_allowed(receiver: Receiver) -> None:
    worker = DeliveryWorker(async_sessionmaker(), DeliveryPolicy(timeout_s=2.0))
    port = receiver.url.split(":")[2].split("/")[0]
    claim = Claim(
        id=uuid.uuid4(), token=uuid.uuid4(), attempts=1, endpoint_id=uuid.uuid4(), url=receiver.url,
        secret="whsec_x", event_id=uuid.uuid4(), event_type="order.created", body="{}",
    )  # fmt: skip
    try:
        literal = await worker.send(claim)
        named = await worker.send(dataclasses.replace(claim, url=f"http://localhost:{port}/hook"))
    finally:
        await worker.stop()
    assert not literal.ok and literal.error == "refused: 127.0.0.1 is not a public address"
    assert not named.ok and named.error is not None and "localhost has no public address" in named.error
    assert receiver.seen == []
    allowed = DeliveryWorker(async_sessionmaker(), DeliveryPolicy(allow_private_networks=True))
    try:
        assert (await allowed.send(claim)).ok
    finally:
        await allowed.stop()
    assert len(receiver.seen) == 1


async def test_webhooks_are_tenant_scoped_and_validated(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    other = await cloud.tenancy("Other")
    mine = (await register(cloud, acme, "https://hooks.example/acme"))["webhook"]["id"]
    for method, path, body in [
        ("GET", f"/api/v1/webhooks/{mine}", None),
        ("PATCH", f"/api/v1/webhooks/{mine}", {"url": "https://evil.example/"}),
        ("DELETE", f"/api/v1/webhooks/{mine}", None),
        ("POST", f"/api/v1/webhooks/{mine}/rotate-secret", None),
        ("POST", f"/api/v1/webhooks/{mine}/enable", None),
        ("GET", f"/api/v1/webhooks/{mine}/deliveries", None),
    ]:
        response = await cloud.client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert (await cloud.client.get("/api/v1/webhooks", headers=other.headers)).json() == []

    # an event of one tenant never reaches another tenant's endpoint
    await emit_now(cloud, other.tenant_id, "order.created", {"uuid": "x"})
    assert await deliveries(cloud, acme, mine) == []

    for bad in [
        "ftp://hooks.example/x",
        "hooks.example/x",
        "http:///nohost",
        "javascript:alert(1)//x",
        "https://h.example:99999/",
    ]:
        response = await cloud.client.post(
            "/api/v1/webhooks", json={"url": bad, "event_types": ["order.created"]}, headers=acme.headers
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["code"] == "invalid_url"
    unknown = await cloud.client.post(
        "/api/v1/webhooks",
        json={"url": "https://h.example/", "event_types": ["order.eaten"]},
        headers=acme.headers,
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "validation_error"

    changed = await cloud.client.patch(
        f"/api/v1/webhooks/{mine}", json={"event_types": ["shift.closed", "shift.closed"], "active": False},
        headers=acme.headers,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["shift.closed"]
    assert changed.json()["active"] is False
    assert (await cloud.client.delete(f"/api/v1/webhooks/{mine}", headers=acme.headers)).status_code == 204
    assert (await cloud.client.get(f"/api/v1/webhooks/{mine}", headers=acme.headers)).status_code == 404

    # managers cannot manage webhooks
    await cloud.user(acme.tenant_id, "manager@acme.example", role="manager")
    manager = await cloud.login("manager@acme.example")
    response = await cloud.client.get("/api/v1/webhooks", headers=manager)
    assert response.status_code == 403
    with pytest.raises(ValueError, match="unknown webhook event type"):
        async with cloud.sessions() as session:
            await emit(session, acme.tenant_id, "order.eaten", {})


async def hub_topics(cloud: Cloud, tenancy: Tenancy) -> HubTopics:
    added = await cloud.client.post(
        f"/api/v1/stores/{tenancy.stores[0]}/hubs", json={"name": "Till"}, headers=tenancy.headers
    )
    assert added.status_code == 201, added.text
    claimed = await cloud.client.post("/api/v1/hubs/claim", json={"code": added.json()["claim_code"]})
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    return HubTopics(body["tenant_id"], body["store_id"], body["hub_id"])


async def test_ingested_facts_become_deliveries_exactly_once(hooks: Cloud, receiver: Receiver) -> None:
    acme = await hooks.tenancy("Acme")
    created = await register(hooks, acme, receiver.url, "order.created", "shift.closed", "refund.created")
    topics = await hub_topics(hooks, acme)
    ingest = EventIngest(hooks.sessions, HubDirectory(), projectors=[project_webhooks])
    receipt = sale(1, total=1190)
    training = msgspec.structs.replace(sale(2), training=True)
    closed = ShiftClosed(shift_id=3, terminal_id="T1", at="2026-11-22T18:00:00+00:00", auto_closed=False,
                         figures={"sales_total": 1190, "cash_expected": 1190})  # fmt: skip
    messages = [
        (topics, topics.up_events, envelope(1, "sale.completed", receipt)),
        (topics, topics.up_events, envelope(2, "sale.completed", training)),
        (topics, topics.up_events, envelope(3, "shift.closed", closed)),
        (topics, topics.up_events, envelope(4)),  # audit.recorded: no webhook
    ]
    outcome = await ingest.ingest([*messages, messages[0]])  # the same fact twice in one batch
    assert outcome.stored == 4
    again = await ingest.ingest(messages)  # and redelivered in a later batch
    assert again.stored == 0 and again.duplicates == 4
    # a restarted cloud (new ingest, empty memory) receiving the same facts again
    restarted = EventIngest(hooks.sessions, HubDirectory(), projectors=[project_webhooks])
    assert (await restarted.ingest(messages)).stored == 0

    await eventually(lambda: len(receiver.seen) >= 2, what="two deliveries")
    await asyncio.sleep(0.3)
    assert len(receiver.seen) == 2
    documents = {json.loads(body)["type"]: json.loads(body) for _, body, _ in receiver.seen}
    for headers, body, _ in receiver.seen:
        check_signature(created["secret"], headers, body)
    order = documents["order.created"]["data"]
    assert order["uuid"] == receipt.uuid
    assert order["number"] == 1
    assert order["store_id"] == topics.store
    assert order["totals"]["total"] == 1190
    assert order["payments"] == [
        {
            "tender_id": "cash",
            "tender_type": "cash",
            "amount": 1190,
            "tendered": 1190,
            "change": 0,
            "reference": None,
        }
    ]
    shift = documents["shift.closed"]["data"]
    assert shift["shift_id"] == 3
    assert shift["figures"] == {"sales_total": 1190, "cash_expected": 1190}
    async with hooks.sessions() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
        assert len(rows) == 2
        endpoint = await session.scalar(select(WebhookEndpoint))
        assert endpoint is not None and endpoint.secret.startswith("v1:")  # sealed, not in clear
        assert created["secret"] not in endpoint.secret
