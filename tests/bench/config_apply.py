"""How long a hub takes to apply a full config of 5,000 products (each with a variant and two
barcodes) from the cloud, and to apply it again under a newer version, in one transaction each.

Run alone: ``.venv/bin/python -m tests.bench.config_apply`` prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from tests.hub.sync.config_support import delta, ean13, full_config, item, open_store, product

PRODUCTS = 5000


def catalog(version: int) -> list[dict[str, object]]:
    items = [i for i in full_config() if i["section"] != "products"]
    for n in range(PRODUCTS):
        variant = {"id": 100_000 + n, "name": "XL", "price": 200 + n, "barcodes": [ean13(f"2100{n:08d}")]}
        body = product(f"Artikal {n}", 100 + n, sku=f"A{n}", category_id=10, tax_rate_id=1,
                       barcodes=[ean13(f"2000{n:08d}")], variants=[variant])  # fmt: skip
        items.append(item("products", 10_000 + n, body, revision=version))
    return items


async def measure() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        async with open_store(Path(directory)) as store:
            timings = {}
            for version, name in ((5, "first_apply_s"), (6, "reapply_s")):
                config = delta(version, catalog(version))
                started = time.perf_counter()
                result = await store.config.apply(config)
                timings[name] = round(time.perf_counter() - started, 3)
                assert result.outcome == "applied", result.error
            return {"benchmark": "config_apply", "products": PRODUCTS, **timings}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure())))
