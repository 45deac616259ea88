"""End to end: a 5,000-product catalog authored in the cloud reaches fifty real hub daemons,
and a configuration the hubs refuse changes nothing on them.

Real processes throughout: Mosquitto with the password and ACL files the cloud writes, the
cloud service with its bridge (SQLite and PostgreSQL), and fifty ``smartpos-hub serve`` claimed through the
cloud as a technician would claim them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud.config_authoring import (
    CASHIER_PIN,
    author_store,
    catalog_csv,
    corrupt_item,
    import_csv,
    products_by_sku,
    store_version,
    write,
)
from tests.hub.staff.staff_support import Staff
from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess
from tests.support.fleet import HubFleet
from tests.support.procs import HubProcess, wait_for

HUBS = 50
PRODUCTS = 5000


@pytest.fixture
def cloud(tmp_path: Path, db_url: str) -> Iterator[CloudProcess]:
    """The cloud on SQLite and on PostgreSQL (fifty hubs fetching at once is where a database
    connection pool shows its limits)."""
    broker = MosquittoBroker(tmp_path).start()
    cloud = CloudProcess(tmp_path, broker, db_url=db_url).start()
    try:
        yield cloud
    finally:
        cloud.stop()
        broker.stop()


def hub_price(hub: HubProcess, product_id: int) -> int:
    status, product = hub.api("GET", f"/api/v1/products/{product_id}")
    assert status == 200, product
    return int(product["price"])


@pytest.mark.timeout(400)
def test_a_5000_product_catalog_reaches_50_hubs_and_a_config_they_refuse_changes_nothing(
    tmp_path: Path, cloud: CloudProcess
) -> None:
    store = cloud.new_store()
    authored = author_store(cloud, store)
    fleet = HubFleet(tmp_path, cloud, store, HUBS)
    try:
        fleet.start()
        fleet.wait_version(authored.version, timeout=60)

        # The dry run checks every row and writes nothing; the import itself is one new version.
        data = catalog_csv(PRODUCTS, authored)
        checked = import_csv(cloud, data, dry_run=True)
        assert (checked["created"], checked["errors"]) == (PRODUCTS, [])
        assert store_version(cloud, store) == authored.version
        started = time.monotonic()
        imported = import_csv(cloud, data)
        assert (imported["created"], imported["errors"]) == (PRODUCTS, [])
        catalog = store_version(cloud, store)
        assert catalog > authored.version
        fleet.wait_version(catalog, timeout=120)
        assert {r["desired_config_version"] for r in fleet.fleet()} == {catalog}
        print(f"\n{PRODUCTS} products applied on {HUBS} hubs in {time.monotonic() - started:.1f} s")

        items = products_by_sku(cloud)
        assert len(items) == PRODUCTS
        first, tenth = int(items["SKU-00001"]["key"]), int(items["SKU-00010"]["key"])
        hubs = list(fleet.hubs.values())
        for hub in (hubs[0], hubs[HUBS // 2], hubs[-1]):
            assert hub_price(hub, first) == 200 and hub_price(hub, tenth) == 209
            status, found = hub.api("GET", "/api/v1/products?search=Item%200424&limit=1")
            assert status == 200, found
            assert found["total"] == 10 and found["products"][0]["name"] == "Item 04240"
            assert hub.api("GET", "/api/v1/products?limit=1")[1]["total"] == PRODUCTS

        # A product pointing at a tax rate that does not exist reaches the hubs next to a good
        # price change. Each hub refuses the whole delta and keeps selling on what it had.
        body = dict(items["SKU-00001"]["body"])
        corrupt_item(cloud, "products", str(first), {**body, "price": 999, "tax_rate_id": 987654})
        write(cloud, "PUT", f"/api/v1/config/products/{tenth}", {**items["SKU-00010"]["body"], "price": 555})
        refused = store_version(cloud, store)

        def all_refused() -> bool:
            rows = fleet.fleet()
            return all(r["rejected_config_version"] == refused for r in rows)

        wait_for(all_refused, 60, interval=0.2, what="every hub refusing the bad config")
        for row in fleet.fleet():
            assert (row["applied_config_version"], row["desired_config_version"]) == (catalog, refused)
            assert "tax_rate_id" in row["config_error"] and str(first) in row["config_error"]
        assert hub_price(hubs[1], first) == 200 and hub_price(hubs[1], tenth) == 209
        cashier = Staff(hubs[1], authored.cashier_num, CASHIER_PIN)
        cashier.open_shift(0)
        sale = cashier.sell(first, 200, "refused-config-sale")
        assert sale["total"] == 200

        # The admin repairs the product through the API: the next version applies everywhere.
        write(cloud, "PUT", f"/api/v1/config/products/{first}", {**body, "price": 249})
        repaired = store_version(cloud, store)
        fleet.wait_version(repaired, timeout=60)
        assert hub_price(hubs[1], first) == 249 and hub_price(hubs[1], tenth) == 555
        assert cashier.sell(first, 249, "repaired-config-sale")["total"] == 249
    finally:
        fleet.stop()
