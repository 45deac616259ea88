"""Sections the cloud manages are read-only on the hub: once an applied config has named a
section, local creates, edits and archives in it answer 409 ``managed_by_cloud``, while the
sections the cloud never sent and the store's own data (stock, sales, customers) stay
writable. A hub that never applied a config writes everything as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.api.errors import error_middleware
from hub.domain import cloud_managed
from hub.domain.catalog.csv_io import ImportRequest
from hub.domain.catalog.csv_service import CsvService
from hub.domain.catalog.schemas import (
    CategoryIn,
    CustomerIn,
    ProductIn,
    ProductPatch,
    StockAdjustIn,
    VariantIn,
)
from hub.domain.errors import Conflict
from hub.domain.infocodes.schemas import InfocodeIn
from tests.hub.sync.config_support import ME, Store, delta, item, open_store, product

SHIRT = 500


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(tmp_path) as opened:
        yield opened


def products_only() -> list[dict[str, object]]:
    """A delta with products and nothing else (no infocodes, no categories)."""
    return [item("products", SHIRT, product("Majica", 2500, sku="MAJ", track_stock=True))]


def infocode(code: str) -> InfocodeIn:
    return msgspec.convert({"code": code, "prompt": "Zašto?", "trigger": "RECEIPT_COMMENT"}, InfocodeIn)


def assert_managed(exc: pytest.ExceptionInfo[Conflict], section: str) -> None:
    assert exc.value.status == 409
    assert exc.value.code == "managed_by_cloud"
    assert exc.value.details == {"section": section}


async def test_before_any_cloud_config_every_local_write_works(store: Store) -> None:
    assert await cloud_managed.managed_sections(store.db) == frozenset()
    created = await store.catalog.create_product(ProductIn(name="Kapa", price=900), actor=ME)
    patched = await store.catalog.patch_product(created.id, ProductPatch(price=950), actor=ME)
    assert patched.price == 950
    await store.catalog.add_variant(created.id, VariantIn(name="XL"), actor=ME)
    await store.catalog.archive("products", created.id, actor=ME)
    assert not (await store.catalog.product(created.id)).active
    category = await store.catalog.save_category(CategoryIn(name="Odjeća"), actor=ME)
    assert category.name == "Odjeća"
    assert (await store.infocodes.create(infocode("LOCAL"), actor=ME)).code == "LOCAL"
    report = await CsvService(store.catalog).import_products(
        ImportRequest(csv="name,price,sku\nŠal,12.00,SAL\n"), actor=ME
    )
    assert report.created == 1


async def test_after_a_delta_with_products_local_product_writes_are_refused(store: Store) -> None:
    # A local write first, so the managed set is cached before the delta: the apply drops it.
    local = await store.catalog.create_product(ProductIn(name="Kapa", price=900), actor=ME)
    result = await store.config.apply(delta(1, products_only()))
    assert result.outcome == "applied", result
    # The full delta archived the local product, as before; the cloud's product sells.
    assert not (await store.catalog.product(local.id)).active
    assert await cloud_managed.managed_sections(store.db) == frozenset({"products"})

    with pytest.raises(Conflict) as refused:
        await store.catalog.create_product(ProductIn(name="Kapa 2", price=900), actor=ME)
    assert_managed(refused, "products")
    with pytest.raises(Conflict) as refused:
        await store.catalog.patch_product(SHIRT, ProductPatch(price=1), actor=ME)
    assert_managed(refused, "products")
    with pytest.raises(Conflict) as refused:
        await store.catalog.archive("products", SHIRT, actor=ME)
    assert_managed(refused, "products")
    with pytest.raises(Conflict) as refused:
        await store.catalog.add_variant(SHIRT, VariantIn(name="XL"), actor=ME)
    assert_managed(refused, "products")
    with pytest.raises(Conflict) as refused:
        await CsvService(store.catalog).import_products(
            ImportRequest(csv="name,price,sku\nŠal,12.00,SAL\n"), actor=ME
        )
    assert_managed(refused, "products")
    shirt = await store.catalog.product(SHIRT)
    assert (shirt.name, shirt.price, shirt.active) == ("Majica", 2500, True)  # nothing changed

    # Sections the cloud never sent stay the hub's to write.
    assert (await store.infocodes.create(infocode("LOCAL"), actor=ME)).code == "LOCAL"
    category = await store.catalog.save_category(CategoryIn(name="Odjeća"), actor=ME)
    assert category.name == "Odjeća"
    # And the store's own data: stock, customers, sales.
    adjusted = await store.catalog.adjust_stock(SHIRT, StockAdjustIn(delta="5", reason="dostava"), actor=ME)
    assert adjusted.stock == "5"
    customer = await store.catalog.save_customer(CustomerIn(name="Amra"), actor=ME)
    assert customer.name == "Amra"
    sale = await store.sell("s1", SHIRT, pay=2500)
    assert sale.total == 2500


async def test_every_cloud_section_the_hub_authors_is_refused_once_sent(store: Store) -> None:
    await store.infocodes.create(infocode("LOCAL"), actor=ME)
    result = await store.config.apply(
        delta(1, [*products_only(), item("infocodes", 20, {"code": "REASON", "prompt": "Razlog",
                                                            "trigger": "RECEIPT_COMMENT"})])
    )  # fmt: skip
    assert result.outcome == "applied", result
    with pytest.raises(Conflict) as refused:
        await store.infocodes.create(infocode("OTHER"), actor=ME)
    assert_managed(refused, "infocodes")


async def test_the_managed_set_is_read_once_and_kept(store: Store) -> None:
    assert (await store.config.apply(delta(1, products_only()))).outcome == "applied"
    with pytest.raises(Conflict):
        await store.catalog.create_product(ProductIn(name="Kapa", price=900), actor=ME)
    reads = 0
    fetchall = store.db.fetchall

    async def counting(sql: str, params: object = ()) -> object:
        nonlocal reads
        reads += "config_items" in sql
        return await fetchall(sql, params)  # type: ignore[arg-type]

    store.db.fetchall = counting  # type: ignore[method-assign,assignment]
    try:
        for _ in range(5):
            with pytest.raises(Conflict):
                await store.catalog.patch_product(SHIRT, ProductPatch(price=1), actor=ME)
    finally:
        del store.db.fetchall
    assert reads == 0


async def test_the_api_answers_409_managed_by_cloud_in_the_error_envelope(store: Store) -> None:
    """The hub's error middleware turns the domain refusal into the envelope the API answers."""
    assert (await store.config.apply(delta(1, products_only()))).outcome == "applied"

    async def create(request: web.Request) -> web.Response:
        body = msgspec.json.decode(await request.read(), type=ProductIn)
        created = await store.catalog.create_product(body, actor=ME)
        return web.json_response({"id": created.id}, status=201)

    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/api/v1/products", create)
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/api/v1/products", json={"name": "Kapa", "price": 900})
        assert response.status == 409
        body = await response.json()
    assert body["error"]["code"] == "managed_by_cloud"
    assert body["error"]["details"] == {"section": "products"}
