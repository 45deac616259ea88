"""The catalog context's service: every write in one transaction, audited, and the sales
cache (:class:`~hub.domain.catalog.adapter.CatalogAdapter`) cleared once it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from hub.db.database import Database, Transaction
from hub.domain import audit, cloud_managed
from hub.domain.catalog import reference_store as refs
from hub.domain.catalog import stock
from hub.domain.catalog.adapter import CatalogAdapter
from hub.domain.catalog.product_store import (
    get_product,
    insert_product,
    insert_variant,
    load_products,
    patch_product,
    patch_variant,
    require_variant,
)
from hub.domain.catalog.schemas import (
    CategoryIn,
    CategoryView,
    CustomerIn,
    CustomerPage,
    CustomerView,
    ProductIn,
    ProductPage,
    ProductPatch,
    ProductView,
    StockAdjustIn,
    StockMovementView,
    TaxGroupIn,
    TaxGroupView,
    TaxRateIn,
    TaxRateView,
    UnitIn,
    UnitView,
    VariantIn,
    VariantPatch,
    VariantView,
    changes,
)
from hub.domain.money import format_signed_quantity
from hub.domain.store_settings import StoreSettingsService

# Tables that are also cloud config sections (by the same name): refused once the cloud manages
# them (:mod:`hub.domain.cloud_managed`). Customers and stock are the store's own.
CONFIG_TABLES = frozenset(
    {
        cloud_managed.TAX_RATES,
        cloud_managed.TAX_GROUPS,
        cloud_managed.UNITS,
        cloud_managed.CATEGORIES,
        cloud_managed.PRODUCTS,
    }
)


class CatalogService:
    """Products, variants, categories, units, taxes, customers and stock; CSV in :mod:`csv_service`."""

    def __init__(self, db: Database, settings: StoreSettingsService) -> None:
        self.db = db
        self.settings = settings
        self.adapter = CatalogAdapter(db)

    @asynccontextmanager
    async def write(
        self, actor: str, action: str, target: str, details: dict[str, Any] | None = None
    ) -> AsyncIterator[Transaction]:
        """A write transaction that is audited and clears the sales cache after commit."""
        async with self.db.transaction() as tx:
            yield tx
            await audit.record(tx, actor=actor, action=action, target=target, details=details or {})
            tx.after_commit(self.adapter.invalidate)

    async def ensure_local(self, table: str) -> None:
        """Refuse a local write to ``table`` once the cloud manages it (409 managed_by_cloud)."""
        if table in CONFIG_TABLES:
            await cloud_managed.ensure_local(self.db, table)

    # --- generic: patch and archive ------------------------------------------------------

    async def patch(self, table: str, row_id: int, body: msgspec.Struct, *, actor: str) -> None:
        """Change some fields of a tax rate, tax group, unit, category or customer."""
        await self.ensure_local(table)
        fields = changes(body)
        async with self.write(
            actor,
            f"{refs.TABLES[table]}.updated",
            f"{refs.TABLES[table]}:{row_id}",
            {"fields": sorted(fields)},
        ) as tx:
            await refs.patch(tx, table, row_id, body)

    async def archive(self, table: str, row_id: int, *, actor: str) -> None:
        """Archive a row (it stays for the sales that name it); refused while in use."""
        await self.ensure_local(table)
        name = refs.TABLES.get(table, "product")
        async with self.write(actor, f"{name}.archived", f"{name}:{row_id}") as tx:
            if table == "products":
                await get_product(tx, row_id)
                await tx.execute("UPDATE products SET active = 0 WHERE id = ?", (row_id,))
            else:
                await refs.archive(tx, table, row_id)

    # --- tax rates and groups --------------------------------------------------------------

    async def tax_rates(self, *, include_archived: bool = True) -> list[TaxRateView]:
        """Tax rates in the order they apply (priority, then id)."""
        rows = await self.db.fetchall(
            "SELECT * FROM tax_rates WHERE (? OR active = 1) ORDER BY priority, id", (include_archived,)
        )
        return [refs.tax_rate_view(r) for r in rows]

    async def tax_rate(self, rate_id: int) -> TaxRateView:
        return refs.tax_rate_view(await refs.require(self.db, "tax_rates", rate_id))

    async def save_tax_rate(self, body: TaxRateIn, *, actor: str, rate_id: int | None = None) -> TaxRateView:
        await self.ensure_local("tax_rates")
        async with self.write(
            actor, "tax_rate.saved", f"tax_rate:{rate_id or 'new'}", {"name": body.name}
        ) as tx:
            rate_id = await refs.save_tax_rate(tx, body, rate_id)
        return await self.tax_rate(rate_id)

    async def tax_groups(self, *, include_archived: bool = True) -> list[TaxGroupView]:
        return await refs.tax_group_views(self.db, "(? OR active = 1)", (include_archived,))

    async def tax_group(self, group_id: int) -> TaxGroupView:
        await refs.require(self.db, "tax_groups", group_id)
        return (await refs.tax_group_views(self.db, "id = ?", (group_id,)))[0]

    async def save_tax_group(
        self, body: TaxGroupIn, *, actor: str, group_id: int | None = None
    ) -> TaxGroupView:
        await self.ensure_local("tax_groups")
        async with self.write(
            actor, "tax_group.saved", f"tax_group:{group_id or 'new'}", {"name": body.name}
        ) as tx:
            group_id = await refs.save_tax_group(tx, body, group_id)
        return await self.tax_group(group_id)

    # --- units and categories ------------------------------------------------------------

    async def units(self, *, include_archived: bool = True) -> list[UnitView]:
        rows = await self.db.fetchall(
            "SELECT * FROM units WHERE (? OR active = 1) ORDER BY name", (include_archived,)
        )
        return [refs.unit_view(r) for r in rows]

    async def unit(self, unit_id: int) -> UnitView:
        return refs.unit_view(await refs.require(self.db, "units", unit_id))

    async def save_unit(self, body: UnitIn, *, actor: str, unit_id: int | None = None) -> UnitView:
        await self.ensure_local("units")
        async with self.write(actor, "unit.saved", f"unit:{unit_id or 'new'}", {"name": body.name}) as tx:
            unit_id = await refs.save_unit(tx, body, unit_id)
        return await self.unit(unit_id)

    async def categories(self, *, include_archived: bool = True) -> list[CategoryView]:
        rows = await self.db.fetchall(
            "SELECT * FROM categories WHERE (? OR active = 1) ORDER BY sort_order, name", (include_archived,)
        )
        return [refs.category_view(r) for r in rows]

    async def category(self, category_id: int) -> CategoryView:
        return refs.category_view(await refs.require(self.db, "categories", category_id))

    async def save_category(
        self, body: CategoryIn, *, actor: str, category_id: int | None = None
    ) -> CategoryView:
        await self.ensure_local("categories")
        async with self.write(
            actor, "category.saved", f"category:{category_id or 'new'}", {"name": body.name}
        ) as tx:
            category_id = await refs.save_category(tx, body, category_id)
        return await self.category(category_id)

    # --- products and variants -----------------------------------------------------------

    async def products(
        self,
        *,
        search: str = "",
        category_id: int | None = None,
        include_archived: bool = False,
        low_stock: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> ProductPage:
        """A page of products by name; ``search`` matches the name, the SKU or a barcode."""
        where: list[str] = ["1"]
        params: list[Any] = []
        if not include_archived:
            where.append("p.active = 1")
        if category_id is not None:
            where.append("p.category_id = ?")
            params.append(category_id)
        if low_stock:
            # Levels have at most 3 decimals and 7 digits: exact as doubles, fine to compare.
            where.append("p.track_stock = 1 AND CAST(p.stock AS REAL) < CAST(p.min_stock AS REAL)")
        if search:
            where.append(
                "(p.name LIKE ? ESCAPE '\\' OR p.sku = ? OR p.id IN "
                "(SELECT product_id FROM barcodes WHERE code = ?) OR p.id IN "
                "(SELECT product_id FROM variants WHERE sku = ?))"
            )
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, search, search, search]
        clause = " AND ".join(where)
        total = await self.db.fetchone(f"SELECT COUNT(*) AS n FROM products p WHERE {clause}", params)  # noqa: S608
        page = await load_products(
            self.db,
            f"{clause} ORDER BY p.name COLLATE NOCASE, p.id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return ProductPage(products=page, total=int(total["n"]) if total else 0)

    async def product(self, product_id: int) -> ProductView:
        return await get_product(self.db, product_id)

    async def create_product(self, body: ProductIn, *, actor: str) -> ProductView:
        await self.ensure_local("products")
        async with self.write(
            actor, "product.created", "product:new", {"name": body.name, "price": body.price}
        ) as tx:
            product_id = await insert_product(tx, body)
        return await self.product(product_id)

    async def patch_product(self, product_id: int, body: ProductPatch, *, actor: str) -> ProductView:
        await self.ensure_local("products")
        details = msgspec.to_builtins(body)  # UNSET fields are left out
        async with self.write(actor, "product.updated", f"product:{product_id}", details) as tx:
            await patch_product(tx, product_id, body)
        return await self.product(product_id)

    async def variant(self, product_id: int, variant_id: int) -> VariantView:
        product = await self.product(product_id)
        await require_variant(self.db, product_id, variant_id)
        return next(v for v in product.variants if v.id == variant_id)

    async def add_variant(self, product_id: int, body: VariantIn, *, actor: str) -> VariantView:
        await self.ensure_local("products")
        async with self.write(actor, "variant.created", f"product:{product_id}", {"name": body.name}) as tx:
            await get_product(tx, product_id)
            variant_id = await insert_variant(tx, product_id, body)
        return await self.variant(product_id, variant_id)

    async def patch_variant(
        self, product_id: int, variant_id: int, body: VariantPatch, *, actor: str
    ) -> VariantView:
        await self.ensure_local("products")
        details = {"variant_id": variant_id, **msgspec.to_builtins(body)}
        async with self.write(actor, "variant.updated", f"product:{product_id}", details) as tx:
            await patch_variant(tx, product_id, variant_id, body)
        return await self.variant(product_id, variant_id)

    # --- stock ---------------------------------------------------------------------------

    async def adjust_stock(self, product_id: int, body: StockAdjustIn, *, actor: str) -> ProductView:
        """A manual stock change with its reason: a stock movement and an audit record."""
        details: dict[str, Any] = {"variant_id": body.variant_id, "reason": body.reason}
        async with self.write(actor, "stock.adjusted", f"product:{product_id}", details) as tx:
            delta = await stock.adjust(tx, product_id, body)
            details["delta"] = format_signed_quantity(delta)  # recorded when the block ends
        return await self.product(product_id)

    async def stock_movements(
        self, product_id: int, *, limit: int = 100, offset: int = 0
    ) -> list[StockMovementView]:
        await get_product(self.db, product_id)
        return await stock.movements(self.db, product_id, limit=limit, offset=offset)

    # --- customers -----------------------------------------------------------------------

    async def customers(
        self, *, search: str = "", include_archived: bool = False, limit: int = 100, offset: int = 0
    ) -> CustomerPage:
        """A page of customers by name; ``search`` matches name, e-mail, phone or company."""
        where = "(? OR active = 1)"
        params: list[Any] = [include_archived]
        if search:
            where += " AND (name LIKE ? OR email LIKE ? OR phone LIKE ? OR company_name LIKE ? OR tax_id = ?)"
            params += [f"%{search}%"] * 4 + [search]
        total = await self.db.fetchone(f"SELECT COUNT(*) AS n FROM customers WHERE {where}", params)  # noqa: S608
        rows = await self.db.fetchall(
            f"SELECT * FROM customers WHERE {where} ORDER BY name COLLATE NOCASE, id LIMIT ? OFFSET ?",  # noqa: S608
            [*params, limit, offset],
        )
        return CustomerPage(
            customers=[refs.customer_view(r) for r in rows], total=int(total["n"]) if total else 0
        )

    async def customer(self, customer_id: int) -> CustomerView:
        return refs.customer_view(await refs.require(self.db, "customers", customer_id))

    async def save_customer(
        self, body: CustomerIn, *, actor: str, customer_id: int | None = None
    ) -> CustomerView:
        async with self.write(actor, "customer.saved", f"customer:{customer_id or 'new'}") as tx:
            customer_id = await refs.save_customer(tx, body, customer_id)
        return await self.customer(customer_id)
