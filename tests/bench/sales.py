"""Sales benchmark: completing a 10-line cash sale through the API, printing excluded.

    python tests/bench/sales.py [--sales 500] [--clients 8]

A hub with no printer (so printing is out of the measured path) and a seeded catalog. Carts
of 10 lines are built beforehand (not timed). Then:
1. latency: checkouts one at a time, each timed from the request to the 201 (the sale, its
   lines, payments, taxes, outbox fact and events durably committed);
2. throughput: the same number of checkouts from ``--clients`` concurrent tablets;
   sales/s is the count over the wall time.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.escpos_cache import use_persistent_escpos_cache

use_persistent_escpos_cache(None)

from tests.bench.print_latency import cpu_seconds, percentile, steal_ticks
from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess


async def build_carts(
    session: aiohttp.ClientSession, url: str, products: list[int], count: int
) -> list[tuple[str, int]]:
    carts = []
    for _ in range(count):
        async with session.post(f"{url}/api/v1/carts", json={"terminal_id": "T1"}) as response:
            cart = await response.json()
        total = 0
        for product_id in products:
            async with session.post(
                f"{url}/api/v1/carts/{cart['id']}/lines", json={"product_id": product_id, "quantity": "1"}
            ) as response:
                assert response.status == 201, await response.text()
                total = (await response.json())["total"]
        carts.append((cart["id"], total))
    return carts


async def checkout(session: aiohttp.ClientSession, url: str, cart_id: str, total: int) -> float:
    body = {"idempotency_key": f"bench-{cart_id}", "payments": [{"tender_id": "cash", "amount": total}]}
    start = time.perf_counter()
    async with session.post(f"{url}/api/v1/carts/{cart_id}/checkout", json=body) as response:
        assert response.status == 201, await response.text()
        await response.read()
    return time.perf_counter() - start


async def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = HubProcess(Path(tmp), []).start()
        try:
            ids = seed_catalog(hub, products=10)
            products = [ids[f"ART{i}"] for i in range(10)]
            headers = {"Authorization": f"Bearer {hub.token}"}
            async with aiohttp.ClientSession(headers=headers) as session:
                carts = await build_carts(session, hub.url, products, 2 * args.sales)
                sequential, concurrent = carts[: args.sales], carts[args.sales :]
                latencies = [
                    await checkout(session, hub.url, cart_id, total) for cart_id, total in sequential
                ]
                assert hub.proc is not None
                cpu_before, steal_before = cpu_seconds(hub.proc.pid), steal_ticks()
                queue = list(concurrent)

                async def tablet() -> None:
                    while queue:
                        cart_id, total = queue.pop()
                        await checkout(session, hub.url, cart_id, total)

                started = time.perf_counter()
                await asyncio.gather(*(tablet() for _ in range(args.clients)))
                elapsed = time.perf_counter() - started
                cpu = cpu_seconds(hub.proc.pid) - cpu_before
                steal_after = steal_ticks()
        finally:
            hub.stop()
    return {
        "sales": args.sales,
        "lines_per_sale": 10,
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "sales_per_s": round(args.sales / elapsed, 1),
        "hub_cpu_ms_per_sale": round(cpu / args.sales * 1000, 2),
        "steal_pct": round(
            100 * (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1]), 1
        ),
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
