"""Sync benchmark: fleet-wide ingest into the cloud on PostgreSQL, and one hub's backlog drain.

    python tests/bench/sync.py [--hubs 200] [--sales 500] [--backlog 10000] [--pg-url URL]

Everything real: Mosquitto with the password and ACL files the cloud writes, the cloud
service (``smartpos-cloud serve`` with its MQTT bridge) on a fresh PostgreSQL database, hubs
claimed through the cloud's API.

1. ``ingest_events_per_s``: ``--hubs`` lightweight hub clients in this process (one MQTT
   session each, their own credentials and topics) each publish ``--sales`` sale facts
   (QoS 1, seq 1..N, answering resend requests). The clock runs from the first publish until
   every hub holds the ack of its last seq; the cloud acks only what it has committed.
2. ``backlog_drain_s``: a real hub daemon holding ``--backlog`` undelivered sale facts (one
   real sale through its API, the fact copied with fresh seqs and ids, as a day offline
   leaves them) connects; the clock runs until its backlog is empty.

``lost`` counts facts the cloud does not hold; ``duplicated`` counts sales stored more than
once (distinct sale document ids against stored sale facts), over both phases.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hub.sync.link import MqttLink
from protocols.sync.messages import decode_ack
from protocols.sync.topics import HubTopics
from tests.bench.backlog import fill_backlog, one_real_sale
from tests.cloud.bridge_support import envelope, sale
from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess, sync_toml_from_claim
from tests.support.procs import HubProcess, free_port, wait_for

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class LiteHub:
    """A hub reduced to its MQTT session: publishes its facts, answers resend requests.

    It uses the hub's own link (:class:`hub.sync.link.MqttLink`: paho driven from the asyncio
    loop), so 200 of them share one loop in this process instead of 200 paho threads fighting
    over the GIL, which capped an earlier version of this benchmark below what the cloud takes.
    """

    def __init__(self, claim: dict[str, Any], port: int, sales: int) -> None:
        self.claim = claim
        self.port = port
        tenant, store, hub = claim["topic_prefix"].split("/")[2:5]
        self.topics = HubTopics(tenant, store, hub)
        self.facts = [envelope(seq, "sale.completed", sale(seq)) for seq in range(1, sales + 1)]
        self.acked = 0
        self.resends = 0
        self.done = asyncio.Event()
        self.link: MqttLink | None = None
        self.closing = False

    async def connect(self) -> None:
        self.link = MqttLink(
            url=f"mqtt://127.0.0.1:{self.port}", client_id=self.topics.hub, username=self.claim["broker_username"],
            password=self.claim["broker_password"], keepalive_s=60, session_expiry_s=3600,
            on_message=self._ack, on_disconnect=self._lost,
        )  # fmt: skip
        await self.link.connect()
        self.link.subscribe([self.topics.down_acks])

    def send(self, start: int, end: int) -> None:
        assert self.link is not None
        for seq in range(start, end + 1):
            self.link.publish(self.topics.up_events, self.facts[seq - 1])

    def _ack(self, topic: str, payload: bytes) -> None:
        ack = decode_ack(payload)
        self.acked = max(self.acked, ack.seq)
        if ack.resend_from is not None:
            self.resends += 1
            self.send(ack.resend_from, len(self.facts))
        if self.acked == len(self.facts):
            self.done.set()

    def _lost(self, reason: str) -> None:
        if not self.closing:
            raise AssertionError(f"hub {self.topics.hub} lost the broker: {reason}")

    async def close(self) -> None:
        self.closing = True
        if self.link is not None:
            await self.link.close()


async def _database(pg_url: str, name: str, create: bool) -> None:
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _stored(db_url: str) -> tuple[int, int, int]:
    """(facts stored, sale facts stored, distinct sale documents) in the cloud."""
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            facts = await conn.scalar(text("SELECT COUNT(*) FROM events"))
            sales = await conn.scalar(text("SELECT COUNT(*) FROM events WHERE type = 'sale.completed'"))
            distinct = await conn.scalar(
                text(
                    "SELECT COUNT(DISTINCT (payload::jsonb)->>'uuid') FROM events WHERE type = 'sale.completed'"
                )
            )
            return int(facts or 0), int(sales or 0), int(distinct or 0)
    finally:
        await engine.dispose()


def ingest(cloud: CloudProcess, broker: MosquittoBroker, store: str, hubs: int, sales: int) -> dict[str, Any]:
    claims = [cloud.claim(cloud.new_hub(store, f"bench-{i}")) for i in range(hubs)]
    return asyncio.run(_ingest(claims, broker.port, sales))


async def _ingest(claims: list[dict[str, Any]], port: int, sales: int) -> dict[str, Any]:
    clients = [LiteHub(claim, port, sales) for claim in claims]
    try:
        for start in range(0, len(clients), 20):
            await asyncio.gather(*(client.connect() for client in clients[start : start + 20]))
        await asyncio.sleep(1.0)  # every SUBACK in before the clock starts
        started = time.perf_counter()
        # Interleaved, as 200 stores selling at once would be; the loop gets a turn between
        # rounds so acks are read while the rest is still being published.
        step = 50
        for start in range(1, sales + 1, step):
            for client in clients:
                client.send(start, min(start + step - 1, sales))
            await asyncio.sleep(0)
        for client in clients:
            try:
                await asyncio.wait_for(client.done.wait(), 600)
            except TimeoutError:
                raise AssertionError(
                    f"hub {client.topics.hub} acked only {client.acked} of {sales}"
                ) from None
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    return {
        "events": len(clients) * sales,
        "seconds": elapsed,
        "resend_requests": sum(c.resends for c in clients),
    }


def drain(work: Path, cloud: CloudProcess, store: str, backlog: int) -> tuple[int, float]:
    claim = cloud.claim(cloud.new_hub(store, "bench-drain"))
    online = sync_toml_from_claim(claim, ack_timeout_s=30)
    # First without a reachable broker: the hub sells offline.
    (work / "hub").mkdir()
    hub = HubProcess(
        work / "hub", [], extra_toml=online.replace(claim["broker_url"], f"mqtt://127.0.0.1:{free_port()}")
    )
    hub.start()
    try:
        one_real_sale(hub)
    finally:
        hub.stop()
    last_seq = fill_backlog(hub.data_dir / "hub.db", backlog)
    hub.write_config([], online)
    started = time.perf_counter()
    hub.start()
    try:
        wait_for(lambda: hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]["backlog"] == 0, 300,
                 interval=0.05, what="the backlog drained")  # fmt: skip
        return last_seq, time.perf_counter() - started
    finally:
        hub.stop()


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubs", type=int, default=200)
    parser.add_argument("--sales", type=int, default=500)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    name = f"smartpos_bench_{uuid.uuid4().hex[:12]}"
    db_url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_database(args.pg_url, name, create=True))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            broker = MosquittoBroker(work).start()
            cloud = CloudProcess(work, broker, db_url=db_url)
            try:
                cloud.start()
                store = cloud.new_store()
                fleet = ingest(cloud, broker, store, args.hubs, args.sales)
                backlog, drain_s = drain(work, cloud, store, args.backlog)
                facts, sales, distinct = asyncio.run(_stored(db_url))
            finally:
                cloud.stop()
                broker.stop()
    finally:
        asyncio.run(_database(args.pg_url, name, create=False))
    expected = fleet["events"] + backlog
    return {
        "hubs": args.hubs,
        "events": fleet["events"],
        "ingest_events_per_s": round(fleet["events"] / fleet["seconds"], 1),
        "ingest_s": round(fleet["seconds"], 2),
        "resend_requests": fleet["resend_requests"],
        "backlog": backlog,
        "backlog_drain_s": round(drain_s, 2),
        "lost": max(0, expected - facts),
        "duplicated": sales - distinct,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
