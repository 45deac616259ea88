"""What hubs fetch: HTTP Basic with the broker credentials, full and incremental deltas,
tombstones and per-store overrides (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

from sqlalchemy import insert

from cloud.db.base import utcnow
from cloud.db.models_config import ConfigRecord
from cloud.domain.config import repository
from tests.cloud.config_support import TAX, bodies, claim, config_for, product
from tests.cloud.conftest import Cloud, store_body


async def test_a_hub_fetches_with_its_broker_credentials_only(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    hub = await claim(c)
    assert (await hub.fetch_raw()).status_code == 200
    wrong = await hub.fetch_raw(password="not-it")
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
    assert (await cloud.client.get("/api/v1/hub/config")).status_code == 401
    bearer = await cloud.client.get("/api/v1/hub/config", headers=c.tenancy.headers)
    assert bearer.status_code == 401
    revoked = await cloud.client.delete(f"/api/v1/hubs/{hub.hub_id}", headers=c.tenancy.headers)
    assert revoked.status_code == 204
    assert (await hub.fetch_raw()).status_code == 401


async def test_full_then_incremental_deltas_with_tombstones(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    hub = await claim(c)
    empty = await hub.fetch()
    assert (empty.version, empty.full, empty.items) == (0, True, [])
    rate = await c.created("tax_rates", TAX)
    await c.put("products", "10", product(tax_rate_id=int(rate)))
    await c.put("products", "11", product("Tea", 200))
    await c.put("tenders", "cash", {"name": "Cash", "tender_type": "cash"})
    full = await hub.fetch()
    assert full.full and full.since == 0 and full.version == 4 == await c.version()
    assert full.store == c.store
    assert [(i.section, i.key) for i in full.items] == [
        ("tax_rates", rate), ("products", "10"), ("products", "11"), ("tenders", "cash"),
    ]  # fmt: skip
    assert [i.revision for i in full.items] == [1, 2, 3, 4]
    await c.put("products", "11", product("Tea", 220))
    await c.delete("products", "10")
    delta = await hub.fetch(full.version)
    assert not delta.full and delta.since == 4 and delta.version == 6
    assert bodies(delta) == {("products", "11"): product("Tea", 220) | _defaults(), ("products", "10"): None}
    assert [i.deleted for i in delta.items] == [False, True]
    again = await hub.fetch(0)  # a fresh hub: the whole config, no tombstones
    assert {(i.section, i.key) for i in again.items} == {
        ("tax_rates", rate),
        ("products", "11"),
        ("tenders", "cash"),
    }
    nothing = await hub.fetch(6)
    assert nothing.items == [] and nothing.version == 6
    ahead = await hub.fetch(99)  # a hub restored from an old backup is ahead: it gets everything
    assert ahead.full and ahead.since == 0 and len(ahead.items) == 3


def _defaults() -> dict[str, object]:
    return {"cost_price": None, "sku": None, "plu": None, "barcodes": [], "category_id": None, "unit_id": None,
            "tax_rate_id": None, "tax_group_id": None, "kitchen_station": "", "is_promo": False,
            "track_stock": False, "min_stock": "0", "variants": []}  # fmt: skip


async def test_store_overrides_win_and_deleting_one_brings_the_tenant_item_back(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    other = await cloud.client.post(
        "/api/v1/stores", json=store_body("Alpha Second"), headers=c.tenancy.headers
    )
    second = other.json()["id"]
    main_hub, second_hub = await claim(c), await claim(c, second)
    await c.put("products", "10", product("Tea", 200))
    no_base = await c.put("products", "11", product("Cake", 400), store=c.store)
    assert no_base.status_code == 404
    override = await c.put("products", "10", product("Tea", 180), store=c.store)
    assert override.status_code == 201 and override.json()["store_id"] == c.store
    await c.put("store_options", "store", {"loyalty": {"enabled": True}}, store=c.store)
    assert (await c.get(f"stores/{c.store}/config/products/10")).json()["body"]["price"] == 180
    summary = (await c.get(f"stores/{c.store}/config")).json()
    assert summary["version"] == 3 and summary["sections"]["products"] == {"items": 1, "overrides": 1}
    assert (await c.get(f"stores/{second}/config")).json()["version"] == 1

    main = await main_hub.fetch()
    assert bodies(main)[("products", "10")]["price"] == 180 and main.version == 3
    assert bodies(main)[("store_options", "store")]["loyalty"]["enabled"] is True
    second_full = await second_hub.fetch()
    assert bodies(second_full) == {("products", "10"): product("Tea", 200) | _defaults()}
    assert second_full.version == 1

    # The tenant item changes under the override: the store still gets the override.
    await c.put("products", "10", product("Tea", 210))
    assert bodies(await main_hub.fetch(3))[("products", "10")]["price"] == 180
    assert bodies(await second_hub.fetch(1))[("products", "10")]["price"] == 210
    # Deleting the override re-sends the tenant item to that store only.
    gone = await c.delete("products", "10", store=c.store)
    assert gone.status_code == 200
    back = await main_hub.fetch(4)
    assert bodies(back) == {("products", "10"): product("Tea", 210) | _defaults()}
    assert back.items[0].revision == back.version == 5
    assert await second_hub.fetch(4) == await second_hub.fetch(4)  # nothing new for the other store
    assert (await second_hub.fetch(4)).items == [] and (await second_hub.fetch(4)).version == 4
    # Deleting the product deletes it everywhere.
    await c.put("products", "10", product("Tea", 150), store=c.store)
    assert (await c.delete("products", "10")).status_code == 200
    assert bodies(await main_hub.fetch(5)) == {("products", "10"): None}
    assert (await c.get(f"stores/{c.store}/config/products/10")).status_code == 404


async def test_a_five_thousand_product_delta_is_served_quickly(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    hub = await claim(c)
    tenant = c.tenancy.tenant_id
    body = '{"name":"Item","price":100,"barcodes":[],"variants":[]}'
    async with cloud.sessions() as session:
        first = (await repository.allocate(session, tenant, revisions=5000)).first_revision
        now = utcnow()
        rows = [{"tenant_id": tenant, "store_id": None, "scope": "", "section": "products", "key": str(i + 1),
                 "revision": first + i, "deleted": False, "body": body, "updated_at": now}
                for i in range(5000)]  # fmt: skip
        await session.execute(insert(ConfigRecord), rows)
        await session.commit()
    await hub.fetch_raw()  # warm up
    started = time.perf_counter()
    response = await hub.fetch_raw(0)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.content.count(b'"section":"products"') == 5000
    print(f"5000-item delta: {elapsed * 1000:.0f} ms, {len(response.content)} bytes")
    assert elapsed < 1.5  # generous for a loaded CI box; typically well under 300 ms
    partial = await hub.fetch(4990)
    assert [i.key for i in partial.items] == [str(i) for i in range(4991, 5001)]
