"""The catalog as sales sees it (CatalogAdapter) and the service's rules, in process: sellable
items and variant prices, scale item codes, tax resolution, customers, stock movements, patches
and archiving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from hub.db.database import Database
from hub.domain.catalog.schemas import (
    CategoryIn,
    CategoryPatch,
    CustomerIn,
    CustomerPatch,
    ProductIn,
    ProductPatch,
    StockAdjustIn,
    TaxGroupIn,
    TaxRateIn,
    TaxRatePatch,
    UnitIn,
    VariantIn,
    VariantPatch,
)
from hub.domain.catalog.service import CatalogService
from hub.domain.errors import Conflict, Invalid
from hub.domain.sales.ports import CatalogPort
from hub.domain.store_settings import StoreSettingsService

ME = "test"


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[CatalogService]:
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:
        yield CatalogService(db, StoreSettingsService(db))
    finally:
        await db.close()


async def test_sellable_items_variants_and_item_codes(catalog: CatalogService) -> None:
    port: CatalogPort = catalog.adapter  # the adapter satisfies the sales port
    kg = await catalog.save_unit(UnitIn(name="kilogram", abbreviation="kg", decimals=3), actor=ME)
    cheese = await catalog.create_product(
        ProductIn(name="Sir", price=1890, unit_id=kg.id, plu="00123", barcodes=["036000291452"]), actor=ME
    )
    shirt = await catalog.create_product(
        ProductIn(
            name="Majica",
            price=2500,
            variants=[VariantIn(name="XL", price=2700, barcodes=["96385074"]), VariantIn(name="S")],
        ),
        actor=ME,
    )
    xl, small = shirt.variants
    item = await port.sellable(cheese.id, None)
    assert item is not None and (item.name, item.price, item.quantity_decimals) == ("Sir", 1890, 3)
    by_variant = await port.sellable(shirt.id, xl.id)
    assert by_variant is not None and (by_variant.name, by_variant.price) == ("Majica / XL", 2700)
    inherited = await port.sellable(shirt.id, small.id)
    assert inherited is not None and (inherited.price, inherited.quantity_decimals) == (2500, 0)
    assert await port.sellable(cheese.id, xl.id) is None  # a variant of another product
    # Scale labels carry the item code padded with zeros; either form finds the product.
    for plu in ("123", "000123", "0123"):
        found = await port.by_plu(plu)
        assert found is not None and found.product_id == cheese.id
    found = await port.by_barcode("0036000291452")
    assert found is not None and found.product_id == cheese.id
    found = await port.by_barcode("96385074")
    assert found is not None and found.variant_id == xl.id
    # A price change reaches sales at once (the cache is cleared on commit) ...
    await catalog.patch_variant(shirt.id, xl.id, VariantPatch(price=None), actor=ME)
    again = await port.sellable(shirt.id, xl.id)
    assert again is not None and again.price == 2500
    # ... and archived products and variants are no longer sold.
    await catalog.patch_variant(shirt.id, small.id, VariantPatch(active=False), actor=ME)
    assert await port.sellable(shirt.id, small.id) is None
    await catalog.archive("products", cheese.id, actor=ME)
    assert await port.sellable(cheese.id, None) is None
    assert await port.by_plu("123") is None


async def test_taxes_rate_then_group_then_default(catalog: CatalogService) -> None:
    port = catalog.adapter
    bare = await catalog.create_product(ProductIn(name="Bez poreza", price=100), actor=ME)
    assert await port.taxes_for(bare.id, None) == ()
    gst = await catalog.save_tax_rate(TaxRateIn(name="GST", rate="5", inclusive=False, priority=1), actor=ME)
    qst = await catalog.save_tax_rate(
        TaxRateIn(name="QST", rate="9.975", inclusive=False, compound=True, priority=2), actor=ME
    )
    pdv = await catalog.save_tax_rate(TaxRateIn(name="PDV", rate="17", is_default=True), actor=ME)
    group = await catalog.save_tax_group(TaxGroupIn(name="Quebec", rate_ids=[qst.id, gst.id]), actor=ME)
    assert [t.name for t in await port.taxes_for(bare.id, None)] == ["PDV"]  # the store default
    grouped = await catalog.create_product(ProductIn(name="Q", price=100, tax_group_id=group.id), actor=ME)
    taxes = await port.taxes_for(grouped.id, None)
    assert [(t.name, t.rate, t.compound) for t in taxes] == [
        ("GST", Decimal("5"), False),
        ("QST", Decimal("9.975"), True),
    ]
    # Choosing a rate drops the group (a product has one or the other).
    await catalog.patch_product(grouped.id, ProductPatch(tax_rate_id=gst.id), actor=ME)
    assert [t.name for t in await port.taxes_for(grouped.id, None)] == ["GST"]
    assert (await catalog.product(grouped.id)).tax_group_id is None
    # A new default takes over from the old one; rates in use cannot be archived.
    await catalog.patch("tax_rates", gst.id, TaxRatePatch(is_default=True), actor=ME)
    assert [r.name for r in await catalog.tax_rates() if r.is_default] == ["GST"]
    with pytest.raises(Conflict) as in_use:
        await catalog.archive("tax_rates", qst.id, actor=ME)
    assert in_use.value.code == "in_use" and in_use.value.details == {"tax_groups": 1}
    await catalog.archive("tax_rates", pdv.id, actor=ME)
    assert pdv.id not in [r.id for r in await catalog.tax_rates(include_archived=False)]
    with pytest.raises(Invalid) as bad:
        await catalog.save_tax_rate(TaxRateIn(name="Too much", rate="150"), actor=ME)
    assert bad.value.code == "invalid_percent"


async def test_stock_moves_by_sale_and_by_hand(catalog: CatalogService) -> None:
    port = catalog.adapter
    plain = await catalog.create_product(ProductIn(name="Bez zalihe", price=100), actor=ME)
    product = await catalog.create_product(
        ProductIn(
            name="Patike",
            price=9000,
            track_stock=True,
            stock="3",
            min_stock="2",
            variants=[VariantIn(name="42", own_stock=True, stock="1"), VariantIn(name="43")],
        ),
        actor=ME,
    )
    own, shared = product.variants
    async with catalog.db.transaction() as tx:
        await port.adjust_stock(tx, product.id, own.id, Decimal(-2))  # may go negative
        await port.adjust_stock(tx, product.id, shared.id, Decimal("-1.5"))
        await port.adjust_stock(tx, product.id, None, Decimal(1))
        await port.adjust_stock(tx, plain.id, None, Decimal(-1))  # not tracked: nothing moves
    after = await catalog.product(product.id)
    assert (after.stock, after.variants[0].stock, after.low_stock) == ("2.5", "-1", False)
    counted = await catalog.adjust_stock(product.id, StockAdjustIn(count="1", reason="inventura"), actor=ME)
    assert counted.stock == "1" and counted.low_stock
    low = await catalog.products(low_stock=True)
    assert [p.id for p in low.products] == [product.id]
    moves = await catalog.stock_movements(product.id)
    assert [(m.variant_id, m.delta, m.reason) for m in moves] == [
        (None, "-1.5", "adjustment: inventura"),
        (None, "1", "return"),
        (shared.id, "-1.5", "sale"),
        (own.id, "-2", "sale"),
    ]
    assert await catalog.stock_movements(plain.id) == []
    with pytest.raises(Conflict, match="does not track stock"):
        await catalog.adjust_stock(plain.id, StockAdjustIn(delta="1", reason="x"), actor=ME)
    with pytest.raises(Invalid) as both:
        await catalog.adjust_stock(product.id, StockAdjustIn(delta="1", count="2", reason="x"), actor=ME)
    assert both.value.code == "delta_or_count"


async def test_customers_patch_and_archive(catalog: CatalogService) -> None:
    customer = await catalog.save_customer(
        CustomerIn(name="Amra", email="amra@example.ba", max_discount_percent="10.50"), actor=ME
    )
    assert customer.max_discount_percent == "10.5"
    await catalog.patch("customers", customer.id, CustomerPatch(email=None, city="Mostar"), actor=ME)
    changed = await catalog.customer(customer.id)
    assert (changed.name, changed.email, changed.city) == ("Amra", None, "Mostar")
    info = await catalog.adapter.customer(customer.id)
    assert info is not None and info.max_discount_percent == Decimal("10.5")
    await catalog.archive("customers", customer.id, actor=ME)
    assert await catalog.adapter.customer(customer.id) is None
    assert (await catalog.customers()).total == 0


async def test_categories_patch_and_archive_rules(catalog: CatalogService) -> None:
    food = await catalog.save_category(CategoryIn(name="Hrana"), actor=ME)
    grill = await catalog.save_category(CategoryIn(name="Roštilj", parent_id=food.id), actor=ME)
    with pytest.raises(Invalid, match="ancestor"):
        await catalog.patch("categories", food.id, CategoryPatch(parent_id=grill.id), actor=ME)
    with pytest.raises(Conflict, match="1 subcategories"):
        await catalog.archive("categories", food.id, actor=ME)
    await catalog.patch("categories", grill.id, CategoryPatch(parent_id=None, color="#00ff00"), actor=ME)
    moved = await catalog.category(grill.id)
    assert (moved.parent_id, moved.color, moved.name) == (None, "#00ff00", "Roštilj")
    await catalog.archive("categories", food.id, actor=ME)
    assert [c.name for c in await catalog.categories(include_archived=False)] == ["Roštilj"]
    with pytest.raises(Invalid) as unknown:
        await catalog.create_product(ProductIn(name="X", price=1, category_id=food.id), actor=ME)
    assert unknown.value.code == "unknown_category"  # archived categories take no new products
