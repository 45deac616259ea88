"""Taxes, units, categories and products from the cloud, upserted by the cloud's ids.

The same rules as the hub's own catalog API (:mod:`hub.domain.catalog`): percentages and
quantities in their stored form, GS1 check digits, one default tax rate, a SKU unique across
products and variants, one holder per barcode. Stock is the hub's own: an upsert never writes
the ``stock`` columns. Products are written with ``executemany`` so a catalog of thousands
applies in one pass. References (a product's category, a group's rates, a category's parent)
are checked on the resulting state by :mod:`.checks`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hub.domain.catalog.product_store import normal_barcodes, normal_plu
from hub.domain.cloud_config.context import ApplyContext, clash
from hub.domain.cloud_config.model import Item, rejected
from hub.domain.errors import Invalid
from hub.domain.money import MoneyError, format_percent, format_quantity, parse_percent
from protocols.sync.config import (
    CategoryConfig,
    ProductConfig,
    TaxGroupConfig,
    TaxRateConfig,
    UnitConfig,
)


def percent(item: Item, field_name: str, text: str) -> str:
    try:
        return format_percent(parse_percent(text))
    except MoneyError as exc:
        raise rejected(item.section, item.key, field_name, str(exc)) from None


async def _rename_aside(ctx: ApplyContext, table: str, column: str, ids: list[int]) -> None:
    """Move a unique text column of the delta's rows out of the way, so two rows may swap values."""
    await ctx.tx.executemany(
        f"UPDATE {table} SET {column} = ? WHERE id = ?",  # noqa: S608
        [(f"\0{row_id}", row_id) for row_id in ids],
    )


async def write_tax_rates(ctx: ApplyContext, items: list[Item]) -> None:
    defaults = [item for item in items if item.body.is_default]
    if len(defaults) > 1:
        raise rejected(
            "tax_rates", defaults[1].key, "is_default", f"tax rate {defaults[0].key} is the default too"
        )
    rows = []
    for item in items:
        body: TaxRateConfig = item.body
        rows.append(
            (item.id, body.name, percent(item, "rate", body.rate), body.inclusive, body.compound, body.priority,
             body.is_default)
        )  # fmt: skip
    if defaults:
        await ctx.tx.execute(
            "UPDATE tax_rates SET is_default = 0 WHERE is_default = 1 AND id != ?", (defaults[0].id,)
        )
    await ctx.tx.executemany(
        "INSERT INTO tax_rates (id, name, rate, inclusive, compound, priority, is_default, active) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate = excluded.rate, "
        "inclusive = excluded.inclusive, compound = excluded.compound, priority = excluded.priority, "
        "is_default = excluded.is_default, active = 1",
        rows,
    )


async def write_tax_groups(ctx: ApplyContext, items: list[Item]) -> None:
    names: dict[str, str] = {}
    members: list[tuple[int, int]] = []
    for item in items:
        body: TaxGroupConfig = item.body
        if len(set(body.rate_ids)) != len(body.rate_ids):
            raise rejected("tax_groups", item.key, "rate_ids", "a rate is listed twice")
        if body.name in names:
            raise rejected("tax_groups", item.key, "name", f"tax group {names[body.name]} has this name too")
        names[body.name] = item.key
        members += [(item.id, rate_id) for rate_id in body.rate_ids]
    ids = [item.id for item in items]
    await _rename_aside(ctx, "tax_groups", "name", ids)
    await clash(
        ctx, section="tax_groups", table="tax_groups", column="name", wanted=names, release_archived=False
    )
    await ctx.tx.executemany(
        "INSERT INTO tax_groups (id, name, active) VALUES (?, ?, 1) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, active = 1",
        [(item.id, item.body.name) for item in items],
    )
    await ctx.tx.executemany("DELETE FROM tax_group_rates WHERE group_id = ?", [(i,) for i in ids])
    await ctx.tx.executemany("INSERT INTO tax_group_rates (group_id, rate_id) VALUES (?, ?)", members)


async def write_units(ctx: ApplyContext, items: list[Item]) -> None:
    wanted: dict[str, str] = {}
    for item in items:
        body: UnitConfig = item.body
        if body.abbreviation in wanted:
            raise rejected("units", item.key, "abbreviation", f"unit {wanted[body.abbreviation]} has it too")
        wanted[body.abbreviation] = item.key
    await _rename_aside(ctx, "units", "abbreviation", [item.id for item in items])
    await clash(
        ctx, section="units", table="units", column="abbreviation", wanted=wanted, release_archived=False
    )
    await ctx.tx.executemany(
        "INSERT INTO units (id, name, abbreviation, decimals, active) VALUES (?, ?, ?, ?, 1) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, abbreviation = excluded.abbreviation, "
        "decimals = excluded.decimals, active = 1",
        [(item.id, item.body.name, item.body.abbreviation, item.body.decimals) for item in items],
    )


async def write_categories(ctx: ApplyContext, items: list[Item]) -> None:
    rows = []
    for item in items:
        body: CategoryConfig = item.body
        if body.parent_id == item.id:
            raise rejected("categories", item.key, "parent_id", "a category cannot be its own parent")
        rows.append((item.id, body.name, body.color, body.sort_order, body.parent_id))
    await ctx.tx.executemany(
        "INSERT INTO categories (id, name, color, sort_order, parent_id, active) VALUES (?, ?, ?, ?, ?, 1) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, color = excluded.color, "
        "sort_order = excluded.sort_order, parent_id = excluded.parent_id, active = 1",
        rows,
    )


class _Products:
    """The rows of the product items, checked among themselves before anything is written."""

    def __init__(self, items: list[Item], at: str) -> None:
        self.products: list[tuple[Any, ...]] = []
        self.variants: list[tuple[Any, ...]] = []
        self.barcodes: list[tuple[str, int, int | None]] = []
        self.skus: dict[str, str] = {}  # SKU (of a product or a variant) -> product key
        self.plus: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        self.variant_owner: dict[int, Item] = {}
        for item in items:
            self._add(item, at)

    def _codes(self, item: Item, field_name: str, codes: list[str], variant_id: int | None) -> None:
        try:
            normal = normal_barcodes(codes)
        except Invalid as exc:
            raise rejected("products", item.key, field_name, str(exc)) from None
        for code in normal:
            if code in self.codes:
                raise rejected(
                    "products",
                    item.key,
                    field_name,
                    f"barcode {code} is also given to product {self.codes[code]}",
                )
            self.codes[code] = item.key
            self.barcodes.append((code, item.id, variant_id))

    def _sku(self, item: Item, field_name: str, sku: str | None) -> None:
        if sku is None:
            return
        if sku in self.skus:
            raise rejected(
                "products", item.key, field_name, f"SKU {sku!r} is also given to product {self.skus[sku]}"
            )
        self.skus[sku] = item.key

    def _add(self, item: Item, at: str) -> None:
        body: ProductConfig = item.body
        if body.tax_rate_id is not None and body.tax_group_id is not None:
            raise rejected(
                "products", item.key, "tax_group_id", "a product has a tax rate or a tax group, not both"
            )
        plu = normal_plu(body.plu)
        if plu is not None:
            if plu in self.plus:
                raise rejected(
                    "products", item.key, "plu", f"item code {plu} is also given to product {self.plus[plu]}"
                )
            self.plus[plu] = item.key
        self._sku(item, "sku", body.sku)
        self._codes(item, "barcodes", body.barcodes, None)
        self.products.append(
            (item.id, body.name, body.price, body.cost_price, body.sku, plu, body.category_id, body.unit_id,
             body.tax_rate_id, body.tax_group_id, body.kitchen_station, body.is_promo, body.track_stock,
             format_quantity(Decimal(body.min_stock)), at)
        )  # fmt: skip
        for n, variant in enumerate(body.variants):
            where = f"variants[{n}]"
            if variant.id in self.variant_owner:
                owner = self.variant_owner[variant.id].key
                raise rejected(
                    "products",
                    item.key,
                    f"{where}.id",
                    f"variant {variant.id} is also given to product {owner}",
                )
            self.variant_owner[variant.id] = item
            self._sku(item, f"{where}.sku", variant.sku)
            self._codes(item, f"{where}.barcodes", variant.barcodes, variant.id)
            self.variants.append(
                (variant.id, item.id, variant.name, variant.price, variant.sku, variant.own_stock)
            )


async def write_products(ctx: ApplyContext, items: list[Item]) -> None:
    rows = _Products(items, ctx.at)
    tx = ctx.tx
    ids = [(item.id,) for item in items]
    # A variant id is the cloud's: it must not move from one product to another.
    for found in await ctx.rows_in(
        "SELECT id, product_id FROM variants WHERE id IN ({marks})", list(rows.variant_owner)
    ):
        owner = rows.variant_owner[found["id"]]
        if found["product_id"] != owner.id:
            raise rejected(
                "products",
                owner.key,
                "variants",
                f"variant {found['id']} belongs to product {found['product_id']}",
            )
    # Unique columns of the delta's rows are cleared first, so two products may swap a SKU.
    await tx.executemany("UPDATE products SET sku = NULL, plu = NULL WHERE id = ?", ids)
    await tx.executemany("UPDATE variants SET sku = NULL, active = 0 WHERE product_id = ?", ids)
    await tx.executemany("DELETE FROM barcodes WHERE product_id = ?", ids)
    await clash(ctx, section="products", table="products", column="sku", wanted=rows.skus)
    await clash(ctx, section="products", table="variants", column="sku", wanted=rows.skus)
    await clash(ctx, section="products", table="products", column="plu", wanted=rows.plus)
    await _barcode_holders(ctx, rows.codes)
    await tx.executemany(
        "INSERT INTO products (id, name, price, cost_price, sku, plu, category_id, unit_id, tax_rate_id, tax_group_id, "
        "kitchen_station, is_promo, track_stock, min_stock, active, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "price = excluded.price, cost_price = excluded.cost_price, sku = excluded.sku, plu = excluded.plu, "
        "category_id = excluded.category_id, unit_id = excluded.unit_id, tax_rate_id = excluded.tax_rate_id, "
        "tax_group_id = excluded.tax_group_id, kitchen_station = excluded.kitchen_station, "
        "is_promo = excluded.is_promo, track_stock = excluded.track_stock, min_stock = excluded.min_stock, "
        "active = 1, updated_at = excluded.updated_at",
        rows.products,
    )
    await tx.executemany(
        "INSERT INTO variants (id, product_id, name, price, sku, own_stock, active) VALUES (?, ?, ?, ?, ?, ?, 1) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = excluded.price, sku = excluded.sku, "
        "own_stock = excluded.own_stock, active = 1",
        rows.variants,
    )
    await tx.executemany(
        "INSERT INTO barcodes (code, product_id, variant_id) VALUES (?, ?, ?)", rows.barcodes
    )


async def _barcode_holders(ctx: ApplyContext, codes: dict[str, str]) -> None:
    """A barcode held by an archived product or variant goes to the delta's product; one held by
    an active product outside the delta rejects it."""
    held = await ctx.rows_in(
        "SELECT b.code, b.product_id, b.variant_id, p.active AS p_active, v.active AS v_active FROM barcodes b "
        "JOIN products p ON p.id = b.product_id LEFT JOIN variants v ON v.id = b.variant_id "
        "WHERE b.code IN ({marks})",
        list(codes),
    )
    for row in held:
        if row["p_active"] and (row["variant_id"] is None or row["v_active"]):
            key = codes[row["code"]]
            raise rejected(
                "products",
                key,
                "barcodes",
                f"barcode {row['code']} already belongs to product {row['product_id']}",
            )
        await ctx.tx.execute("DELETE FROM barcodes WHERE code = ?", (row["code"],))


ARCHIVE_EXTRA = {"tax_rates": ", is_default = 0"}
