"""Products, their variants and stock, and product CSV import/export.

Thin: decode, check the permission (reads: any paired device; writes: ``catalog``), call
:mod:`hub.domain.catalog`, answer. Lists are paged with ``limit`` and ``offset``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from hub.api.context import RequestContext
from hub.api.routes_catalog import Archived
from hub.api.routing import Reply, Router
from hub.domain.catalog.csv_io import ImportReport, ImportRequest
from hub.domain.catalog.schemas import (
    ProductIn,
    ProductPage,
    ProductPatch,
    ProductView,
    StockAdjustIn,
    StockMovementPage,
    VariantIn,
    VariantPatch,
    VariantView,
)

router = Router()
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Offset = Annotated[int, msgspec.Meta(ge=0)]


class ProductQuery(msgspec.Struct, forbid_unknown_fields=True):
    """Product list filters: text search, category, low stock, archived, paging."""

    search: str = ""
    category_id: int | None = None
    low_stock: bool = False
    include_archived: bool = False
    limit: Limit = 100
    offset: Offset = 0


class PageQuery(msgspec.Struct, forbid_unknown_fields=True):
    """Paging."""

    limit: Limit = 100
    offset: Offset = 0


def csv_response(text: str, name: str) -> web.Response:
    """A CSV download (UTF-8, so č ć š ž đ survive)."""
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- products ------------------------------------------------------------------------------


@router.route("GET", "/api/v1/products", query=ProductQuery, response=ProductPage, tags=("catalog",))
async def list_products(ctx: RequestContext, _: None) -> ProductPage:
    """Products by name; ``search`` matches the name, a SKU or a barcode."""
    q: ProductQuery = ctx.query
    return await ctx.services.catalog.products(
        search=q.search,
        category_id=q.category_id,
        include_archived=q.include_archived,
        low_stock=q.low_stock,
        limit=q.limit,
        offset=q.offset,
    )


@router.route(
    "POST",
    "/api/v1/products",
    body=ProductIn,
    response=ProductView,
    status=201,
    errors=(409, 422),
    tags=("catalog",),
)
async def create_product(ctx: RequestContext, body: ProductIn) -> Reply:
    """Add a product with its barcodes and variants (a SKU or barcode in use is a 409)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.create_product(body, actor=ctx.actor))


@router.route("GET", "/api/v1/products/export.csv", tags=("catalog",))
async def export_products(ctx: RequestContext, _: None) -> web.Response:
    """All active products as CSV (name, price, SKU, barcodes, category, stock, cost ...)."""
    return csv_response(await ctx.services.catalog_csv.export_products(), "products.csv")


@router.route(
    "POST",
    "/api/v1/products/import",
    body=ImportRequest,
    response=ImportReport,
    errors=(422,),
    tags=("catalog",),
)
async def import_products(ctx: RequestContext, body: ImportRequest) -> ImportReport:
    """Import products from CSV: column mapping, dry run, all-or-nothing unless skipping bad rows."""
    await ctx.require("catalog")
    return await ctx.services.catalog_csv.import_products(body, actor=ctx.actor)


@router.route("GET", "/api/v1/products/{id}", response=ProductView, errors=(404,), tags=("catalog",))
async def get_product(ctx: RequestContext, _: None) -> ProductView:
    """A product with its barcodes, variants and stock."""
    return await ctx.services.catalog.product(ctx.path_int("id"))


@router.route(
    "PATCH",
    "/api/v1/products/{id}",
    body=ProductPatch,
    response=ProductView,
    errors=(404, 409, 422),
    tags=("catalog",),
)
async def patch_product(ctx: RequestContext, body: ProductPatch) -> ProductView:
    """Change some fields; a new price applies to lines added from now on."""
    await ctx.require("catalog")
    return await ctx.services.catalog.patch_product(ctx.path_int("id"), body, actor=ctx.actor)


@router.route("DELETE", "/api/v1/products/{id}", response=Archived, errors=(404,), tags=("catalog",))
async def archive_product(ctx: RequestContext, _: None) -> Archived:
    """Archive a product: it leaves the POS; sales and refunds that name it keep working."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("products", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))


# --- variants ------------------------------------------------------------------------------


@router.route(
    "GET", "/api/v1/products/{id}/variants", response=list[VariantView], errors=(404,), tags=("catalog",)
)
async def list_variants(ctx: RequestContext, _: None) -> list[VariantView]:
    """A product's variants (archived ones too, marked ``active: false``)."""
    return (await ctx.services.catalog.product(ctx.path_int("id"))).variants


@router.route(
    "POST",
    "/api/v1/products/{id}/variants",
    body=VariantIn,
    response=VariantView,
    status=201,
    errors=(404, 409, 422),
    tags=("catalog",),
)
async def add_variant(ctx: RequestContext, body: VariantIn) -> Reply:
    """Add a variant (own price, SKU, barcodes, stock)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.add_variant(ctx.path_int("id"), body, actor=ctx.actor))


@router.route(
    "GET",
    "/api/v1/products/{id}/variants/{variant_id}",
    response=VariantView,
    errors=(404,),
    tags=("catalog",),
)
async def get_variant(ctx: RequestContext, _: None) -> VariantView:
    """One variant of a product."""
    return await ctx.services.catalog.variant(ctx.path_int("id"), ctx.path_int("variant_id"))


@router.route(
    "PATCH",
    "/api/v1/products/{id}/variants/{variant_id}",
    body=VariantPatch,
    response=VariantView,
    errors=(404, 409, 422),
    tags=("catalog",),
)
async def patch_variant(ctx: RequestContext, body: VariantPatch) -> VariantView:
    """Change some fields of a variant; ``price: null`` sells it at the product's price."""
    await ctx.require("catalog")
    return await ctx.services.catalog.patch_variant(
        ctx.path_int("id"), ctx.path_int("variant_id"), body, actor=ctx.actor
    )


@router.route(
    "DELETE",
    "/api/v1/products/{id}/variants/{variant_id}",
    response=Archived,
    errors=(404,),
    tags=("catalog",),
)
async def archive_variant(ctx: RequestContext, _: None) -> Archived:
    """Archive a variant: the POS stops offering it; its barcodes may be given to another."""
    await ctx.require("catalog")
    variant_id = ctx.path_int("variant_id")
    await ctx.services.catalog.patch_variant(
        ctx.path_int("id"), variant_id, VariantPatch(active=False), actor=ctx.actor
    )
    return Archived(id=variant_id)


# --- stock ---------------------------------------------------------------------------------


@router.route(
    "POST",
    "/api/v1/products/{id}/stock",
    body=StockAdjustIn,
    response=ProductView,
    errors=(404, 409, 422),
    tags=("catalog",),
)
async def adjust_stock(ctx: RequestContext, body: StockAdjustIn) -> ProductView:
    """Adjust stock by ``delta`` or to a ``count``, with a reason (logged and audited)."""
    await ctx.require("catalog")
    return await ctx.services.catalog.adjust_stock(ctx.path_int("id"), body, actor=ctx.actor)


@router.route(
    "GET",
    "/api/v1/products/{id}/stock-movements",
    query=PageQuery,
    response=StockMovementPage,
    errors=(404,),
    tags=("catalog",),
)
async def stock_movements(ctx: RequestContext, _: None) -> StockMovementPage:
    """A product's stock movements (sales, returns, adjustments), newest first."""
    q: PageQuery = ctx.query
    movements = await ctx.services.catalog.stock_movements(ctx.path_int("id"), limit=q.limit, offset=q.offset)
    return StockMovementPage(movements=movements)
