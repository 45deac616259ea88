"""Config push and report benchmark.

    python tests/bench/config_push.py [--hubs 50] [--products 5000] [--pg-url URL]

1. ``config_push_s``: Mosquitto with the files the cloud writes, the cloud service (with its
   bridge) on a fresh PostgreSQL database, and ``--hubs`` real ``smartpos-hub serve`` daemons
   claimed into one store, each with its own SQLite. The store's taxes, tenders, settings and
   staff are authored and applied first. The clock starts when the admin's CSV import of
   ``--products`` products is sent and stops when the fleet view shows every hub reporting the
   new config version applied (each hub fetched the delta over HTTP with its credentials and
   applied it in one transaction).
2. ``report_ms``: the sales report over 1,000,000 sales of one month on PostgreSQL
   (:mod:`tests.bench.report_bench`: totals and the first page, warm, median of 5).

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

from sqlalchemy.engine import make_url

from tests.bench.report_bench import measure_report_ms
from tests.bench.sync import _database
from tests.cloud.config_authoring import author_store, catalog_csv, import_csv, store_version
from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess
from tests.support.fleet import HubFleet

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def push(work: Path, db_url: str, hubs: int, products: int) -> dict[str, Any]:
    broker = MosquittoBroker(work).start()
    cloud = CloudProcess(work, broker, db_url=db_url)
    fleet: HubFleet | None = None
    try:
        cloud.start()
        store = cloud.new_store()
        authored = author_store(cloud, store)
        fleet = HubFleet(work, cloud, store, hubs)
        started = time.perf_counter()
        fleet.start(timeout=300)
        start_s = time.perf_counter() - started
        fleet.wait_version(authored.version, timeout=120)
        data = catalog_csv(products, authored)
        started = time.perf_counter()
        imported = import_csv(cloud, data)
        import_s = time.perf_counter() - started
        assert imported["created"] == products and not imported["errors"], imported
        version = store_version(cloud, store)
        fleet.wait_version(version, timeout=300)
        push_s = time.perf_counter() - started
        sizes = {h["id"]: h["applied_config_version"] for h in fleet.fleet()}
        assert set(sizes.values()) == {version}, sizes
        return {"hubs": hubs, "products": products, "config_push_s": round(push_s, 2),
                "import_s": round(import_s, 2), "fleet_start_s": round(start_s, 1)}  # fmt: skip
    finally:
        if fleet is not None:
            fleet.stop()
        cloud.stop()
        broker.stop()


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubs", type=int, default=50)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    name = f"smartpos_bench_{uuid.uuid4().hex[:12]}"
    db_url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_database(args.pg_url, name, create=True))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = push(Path(tmp), db_url, args.hubs, args.products)
    finally:
        asyncio.run(_database(args.pg_url, name, create=False))
    report = asyncio.run(measure_report_ms(args.pg_url))
    return {**result, "report_ms": report["report_ms"], "report_sales": report["sales"],
            "report_store_card_ms": report.get("store_card_report_ms")}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main()))
