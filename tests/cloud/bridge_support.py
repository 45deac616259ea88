"""The cloud with its MQTT bridge on a real Mosquitto, and lightweight hubs to talk to it.

:class:`BridgedCloud` runs the real app (bridge included, in-process) on a migrated database
and a broker whose password and ACL files the cloud itself writes. :class:`WireHub` is a
claimed hub reduced to its MQTT client: tests use it to send exactly the bytes they want
(repeats, gaps, garbage, stale wills) and to see the acks and jobs that come back.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
from litestar import Litestar
from litestar.testing import AsyncTestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.models import DeadLetter, Event
from protocols.sync.documents import SaleDocument, SaleLine, SalePayment, SaleTax
from protocols.sync.messages import (
    AuditRecorded,
    EventEnvelope,
    JobUpdate,
    ReportedState,
    Status,
    decode_ack,
    decode_job_request,
    encode,
)
from protocols.sync.topics import HubTopics

T0 = "2026-11-22T10:00:00+00:00"


async def eventually(
    check: Callable[[], Any],
    timeout: float = 15.0,
    what: str = "condition",
    until: Callable[[Any], Any] = bool,
) -> Any:
    """Poll ``check`` (sync or async) until ``until`` holds for what it returns; returns that."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if until(last):
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def uuid7() -> str:
    """A time-ordered id like the hub's event ids."""
    ms = int(time.time() * 1000)
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def sale(number: int, total: int = 1190) -> SaleDocument:
    """A one-line receipt of ``total`` minor units with 19 % VAT included, paid in cash."""
    tax = round(total * 19 / 119)
    return SaleDocument(
        id=number, uuid=str(uuid.uuid4()), doc_type="receipt", number=number, number_text=f"R-{number}",
        terminal_id="T1", training=False, customer_id=None, buyer=None, seller="Ana", refund_of=None,
        reason=None, currency="EUR", subtotal=total, discount_total=0, tax_total=tax, total=total,
        rounding=0, paid_total=total, change_total=0, balance_due=0, created_at=T0,
        lines=[SaleLine(id=number, line_no=1, product_id=1, variant_id=None, name="Espresso", quantity="1",
                        unit_price=total, gratis_quantity="0", gross=total, discount=0, net=total - tax,
                        total=total, note="", refund_of_line=None, refunded_quantity="0")],
        taxes=[SaleTax(rate_id=1, name="VAT 19%", rate="19", inclusive=True, base=total - tax, amount=tax)],
        payments=[SalePayment(tender_id="cash", tender_type="cash", amount=total, tendered=total, change=0,
                              rounding=0, reference=None, comment=None)],
    )  # fmt: skip


def envelope(seq: int, kind: str = "audit.recorded", payload: msgspec.Struct | None = None) -> bytes:
    """An ``up/events`` message as a hub sends it."""
    body = payload or AuditRecorded(id=seq, at=T0, actor="Ana", action="test.event", target=None)
    raw = msgspec.Raw(msgspec.json.encode(body))
    return encode(EventEnvelope(seq=seq, id=uuid7(), type=kind, occurred_at=T0, payload=raw))


@dataclass
class WireHub:
    """A claimed hub's MQTT session: what it publishes and what the cloud sends it."""

    topics: HubTopics
    username: str
    password: str
    port: int
    acks: list[Any] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)
    connect_result: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: mqtt.Client | None = None

    def connect(self, session: int = 1, *, will: bool = True) -> WireHub:
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.topics.hub,
                             protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        client.username_pw_set(self.username, self.password)
        if will:
            offline = Status(state="offline", session=session, at=T0)
            client.will_set(self.topics.status, encode(offline), qos=1, retain=True)
        done = threading.Event()

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            self.connect_result = reason
            if not reason.is_failure:
                c.subscribe([(self.topics.down_acks, 1), (self.topics.down_jobs, 1)])
            done.set()

        client.on_connect = on_connect
        client.on_message = self._message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        client.loop_start()
        done.wait(10)
        self.client = client
        return self

    def _message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            if message.topic == self.topics.down_acks:
                self.acks.append(decode_ack(bytes(message.payload)))
            else:
                self.jobs.append(decode_job_request(bytes(message.payload)))

    @property
    def refused(self) -> bool:
        return self.connect_result is None or bool(self.connect_result.is_failure)

    def send(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        assert self.client is not None
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def event(self, seq: int, kind: str = "audit.recorded", payload: msgspec.Struct | None = None) -> None:
        self.send(self.topics.up_events, envelope(seq, kind, payload))

    def status(self, state: str, session: int) -> None:
        self.send(self.topics.status, encode(Status(state=state, session=session, at=T0, software_version="1.2.3")),  # type: ignore[arg-type]
                  retain=True)  # fmt: skip

    def state(self, devices: list[Any], config_version: int = 0, backlog: int = 0) -> None:
        report = ReportedState(config_version=config_version, software_version="1.2.3", devices=devices,
                               backlog=backlog, at=T0)  # fmt: skip
        self.send(self.topics.up_state, encode(report), retain=True)

    def job_update(self, job_id: str, state: str, detail: str = "") -> None:
        self.send(self.topics.up_jobs, encode(JobUpdate(job_id=job_id, state=state, detail=detail, at=T0)))  # type: ignore[arg-type]

    def last_ack(self) -> int:
        with self.lock:
            return self.acks[-1].seq if self.acks else 0

    def resend_requests(self) -> list[int]:
        with self.lock:
            return [a.resend_from for a in self.acks if a.resend_from is not None]

    def drop(self) -> None:
        """Vanish without a DISCONNECT, so the broker publishes the will."""
        assert self.client is not None
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


@dataclass
class BridgedCloud:
    """The app with its bridge, its database and the broker it manages."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    sessions: async_sessionmaker[AsyncSession]
    port: int
    headers: dict[str, str]
    store_id: str

    async def new_hub(self, name: str = "Till 1") -> WireHub:
        """Add a hub to the store, claim it, and return its (not yet connected) MQTT identity."""
        created = await self.client.post(f"/api/v1/stores/{self.store_id}/hubs", json={"name": name},
                                         headers=self.headers)  # fmt: skip
        assert created.status_code == 201, created.text
        claimed = await self.client.post("/api/v1/hubs/claim", json={"code": created.json()["claim_code"]})
        assert claimed.status_code == 200, claimed.text
        body = claimed.json()
        topics = HubTopics(body["tenant_id"], body["store_id"], body["hub_id"])
        return WireHub(topics, body["broker_username"], body["broker_password"], self.port)

    async def count(self, hub: WireHub, kind: str | None = None) -> int:
        async with self.sessions() as session:
            query = select(func.count()).select_from(Event).where(Event.hub_id == uuid.UUID(hub.topics.hub))
            if kind is not None:
                query = query.where(Event.type == kind)
            return int(await session.scalar(query) or 0)

    async def seqs(self, hub: WireHub) -> list[int]:
        async with self.sessions() as session:
            rows = await session.scalars(select(Event.seq).where(Event.hub_id == uuid.UUID(hub.topics.hub)))
            return sorted(rows)

    async def dead_letters(self) -> list[DeadLetter]:
        async with self.sessions() as session:
            return list((await session.scalars(select(DeadLetter).order_by(DeadLetter.created_at))).all())

    async def fleet(self) -> dict[str, Any]:
        response = await self.client.get("/api/v1/fleet", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
