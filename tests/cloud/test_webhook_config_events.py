"""Config writes queue their webhooks (SQLite and PostgreSQL): ``config.published`` once per
authoring write that changes store versions, listing each store it reaches with its new version,
and ``product.updated`` per product; both in the write's transaction, so a refused write or one
that changes nothing queues nothing. The worker sleeps here: the test reads the queue."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from cloud.db.models_integrations import WebhookDelivery
from tests.cloud.config_support import TAX, Config, config_for, product
from tests.cloud.conftest import Cloud, store_body
from tests.cloud.test_webhooks import in_tmp_path, quiet, register

__all__ = ["in_tmp_path", "quiet"]  # the fixtures, shared with test_webhooks


class Queue:
    """The webhook deliveries queued since the last look."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.seen: set[uuid.UUID] = set()

    async def new(self) -> list[tuple[str, dict[str, Any]]]:
        """``(event type, data)`` of the deliveries queued since the last call, sorted."""
        async with self.cloud.sessions() as session:
            rows = (await session.scalars(select(WebhookDelivery))).all()
        fresh = [r for r in rows if r.id not in self.seen]
        self.seen |= {r.id for r in fresh}
        assert all(r.status == "pending" for r in fresh)
        events = [(r.event_type, json.loads(r.body)["data"]) for r in fresh]
        return sorted(events, key=lambda e: (e[0], json.dumps(e[1], sort_keys=True)))

    async def published(self) -> list[dict[str, Any]]:
        """The data of the new ``config.published`` events (other types are dropped)."""
        return [data for kind, data in await self.new() if kind == "config.published"]


def stores(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"store_id": store, "version": version} for store, version in pairs]


async def test_config_writes_queue_config_published_and_product_updated(quiet: Cloud) -> None:
    cloud = quiet
    acme = await cloud.tenancy("Acme")
    added = await cloud.client.post("/api/v1/stores", json=store_body("Acme North"), headers=acme.headers)
    assert added.status_code == 201, added.text
    main, north = acme.stores[0], added.json()["id"]
    await register(cloud, acme, "https://hooks.example/acme", "config.published", "product.updated")
    c, queue = Config(cloud, acme), Queue(cloud)

    # a tenant-wide item reaches every store of the tenant, at the write's revision
    assert (await c.put("tax_rates", "1", TAX)).status_code == 201
    assert await queue.new() == [
        ("config.published", {"scope": "tenant", "stores": stores((main, 1), (north, 1))})
    ]
    assert (await c.put("tax_rates", "1", TAX)).status_code == 200  # the same body: no revision
    refused = await c.put("products", "7", product(tax_rate_id=99))  # rolled back
    assert refused.status_code == 422
    assert await queue.new() == []

    # a product: product.updated and config.published, in one transaction
    key = await c.created("products", product("Espresso", 250))
    [(published, first), (updated, espresso)] = await queue.new()
    assert (published, first) == (
        "config.published",
        {"scope": "tenant", "stores": stores((main, 2), (north, 2))},
    )
    assert updated == "product.updated"
    assert (espresso["id"], espresso["store_id"], espresso["revision"], espresso["deleted"]) == (
        key,
        None,
        2,
        False,
    )
    assert espresso["product"]["name"] == "Espresso" and espresso["product"]["price"] == 250

    # a store's override reaches that store only
    override = await c.put("products", key, product("Espresso", 200), store=main)
    assert override.status_code == 201, override.text
    [(_, moved), (_, priced)] = await queue.new()
    assert moved == {"scope": "store", "stores": stores((main, 3))}
    assert (priced["store_id"], priced["revision"], priced["product"]["price"]) == (main, 3, 200)
    assert await c.version() == 3

    # a CSV import is one write: one config.published, a product.updated per product
    imported = await cloud.client.post(
        "/api/v1/config/products/import",
        params={"dry_run": "false"},
        content=b"name,price\nTea,2.00\nCake,3.50\n",
        headers={**acme.headers, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["version"] == 5
    events = await queue.new()
    assert [kind for kind, _ in events] == ["config.published", "product.updated", "product.updated"]
    assert events[0][1] == {"scope": "tenant", "stores": stores((main, 5), (north, 5))}
    assert sorted(data["product"]["name"] for _, data in events[1:]) == ["Cake", "Tea"]

    # deleting the product takes its override along: each store at its own new version
    assert (await c.delete("products", key)).status_code == 200
    events = await queue.new()
    assert events[0] == ("config.published", {"scope": "tenant", "stores": stores((main, 7), (north, 6))})
    assert sorted((d["store_id"] or "", d["revision"], d["deleted"]) for _, d in events[1:]) == [
        ("", 6, True),
        (main, 7, True),
    ]
    for store, version in ((main, 7), (north, 6)):
        summary = await c.get(f"stores/{store}/config")
        assert summary.json()["version"] == version

    # another tenant's writes queue nothing for this tenant (and it has no endpoint itself)
    other = await config_for(cloud, "Other")
    assert (await other.put("tax_rates", "1", TAX)).status_code == 201
    assert await queue.new() == []


async def test_config_published_is_queued_only_for_endpoints_subscribed_to_it(quiet: Cloud) -> None:
    cloud = quiet
    acme = await cloud.tenancy("Acme")
    await register(cloud, acme, "https://hooks.example/products", "product.updated")
    c, queue = Config(cloud, acme), Queue(cloud)
    assert (await c.put("tax_rates", "1", TAX)).status_code == 201
    assert await queue.new() == []
    await register(cloud, acme, "https://hooks.example/config", "config.published")
    assert (await c.put("tax_rates", "2", {"name": "VAT 7%", "rate": "7"})).status_code == 201
    assert await queue.published() == [{"scope": "tenant", "stores": stores((acme.stores[0], 2))}]
