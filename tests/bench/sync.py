"""Sync benchmark, hub side: how fast one hub drains a day's backlog into the cloud.

    python tests/bench/sync.py [--backlog 10000]

A real Mosquitto (password and ACL files), a hub process holding ``--backlog`` undelivered
sale facts (one real sale through the API, its fact copied with fresh seqs and ids, as a day
offline leaves them), and the cloud's end as a persistent-session MQTT client that stores each
(hub, seq) once and acknowledges the contiguous seq. The clock starts when the hub connects.
The last line printed is one JSON object: ``backlog_drain_s``, ``events_per_s``, ``lost``
(facts the cloud never stored), ``duplicated`` (facts stored twice: the store is keyed by seq,
so this counts violations of that rule) and ``redelivered`` (repeat deliveries absorbed).
The fleet-wide ingest figure (200 hubs into PostgreSQL) needs the cloud service and is not
measured here.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.escpos_cache import use_persistent_escpos_cache

use_persistent_escpos_cache(None)

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.hub.sync.cloud_peer import CloudPeer
from tests.hub.sync.test_cloud_link import HUB, sync_toml
from tests.support.broker import MosquittoBroker
from tests.support.procs import HubProcess, wait_for


def fill_backlog(db_path: Path, total: int) -> int:
    """Copy the hub's one real sale fact until ``total`` facts wait; returns the last seq."""
    with sqlite3.connect(db_path) as db:
        kind, payload = db.execute(
            "SELECT type, payload FROM outbox WHERE type = 'sale.completed' LIMIT 1"
        ).fetchone()
        waiting = db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
        rows = [
            (str(uuid.uuid4()), kind, "2026-11-22T12:00:00.000Z", payload) for _ in range(total - waiting)
        ]
        db.executemany("INSERT INTO outbox (id, type, occurred_at, payload) VALUES (?, ?, ?, ?)", rows)
        return int(db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0])


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = MosquittoBroker(work)
        broker.add_hub(HUB, "secret-a")
        hub = HubProcess(
            work, [], extra_toml=sync_toml(broker).replace("ack_timeout_s = 2", "ack_timeout_s = 30")
        )
        hub.start()  # the broker is not running yet: the hub sells offline
        try:
            ids = seed_catalog(hub)
            cart = new_cart(hub)
            add(hub, cart["id"], product_id=ids["SOK1"])
            assert pay(hub, cart["id"], "bench-sale", cash(250), print_receipt=False)[0] == 201
        finally:
            hub.stop()
        last_seq = fill_backlog(hub.data_dir / "hub.db", args.backlog)
        broker.start()
        cloud = CloudPeer(broker.port)
        try:
            started = time.perf_counter()
            hub.start()
            wait_for(
                lambda: hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]["backlog"] == 0,
                300,
                interval=0.05,
                what="the backlog drained",
            )
            elapsed = time.perf_counter() - started
            stored = cloud.seqs("hub-a")
        finally:
            hub.stop()
            cloud.close()
            broker.stop()
    return {
        "backlog": last_seq,
        "backlog_drain_s": round(elapsed, 2),
        "events_per_s": round(last_seq / elapsed, 1),
        "lost": len(set(range(1, last_seq + 1)) - set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "redelivered": cloud.deliveries - len(set(stored)),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
