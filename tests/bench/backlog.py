"""A day offline, made quickly: one real sale through a hub's API, its fact copied into the outbox.

Each copy gets a fresh event id and a fresh sale document id, so the cloud sees as many
distinct sales as facts (what a day of selling leaves behind), not one sale many times.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.support.procs import HubProcess


def one_real_sale(hub: HubProcess) -> None:
    """Seed the catalog and sell one item for cash through the hub's API."""
    ids = seed_catalog(hub)
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["SOK1"])
    status, body = pay(hub, cart["id"], "bench-sale", cash(250), print_receipt=False)
    assert status == 201, body


def fill_backlog(db_path: Path, total: int) -> int:
    """Copy the hub's sale fact until ``total`` facts wait undelivered; returns the last seq."""
    with sqlite3.connect(db_path) as db:
        kind, payload = db.execute(
            "SELECT type, payload FROM outbox WHERE type = 'sale.completed' LIMIT 1"
        ).fetchone()
        waiting = db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
        document = json.loads(payload)
        rows = []
        for _ in range(total - waiting):
            document["uuid"] = str(uuid.uuid4())
            rows.append((str(uuid.uuid4()), kind, "2026-11-22T12:00:00.000Z", json.dumps(document)))
        db.executemany("INSERT INTO outbox (id, type, occurred_at, payload) VALUES (?, ?, ?, ?)", rows)
        return int(db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0])
