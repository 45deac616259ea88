"""Catalog: tax rates and groups, units, categories, products with variants and barcodes,
customers, and CSV import/export.

Thin: decode, check the permission (reads: any paired device; writes: ``catalog``), call
:mod:`hub.domain.catalog`, answer. Lists are paged with ``limit`` and ``offset``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from hub.api.context import RequestContext
from hub.api.routing import Reply, Router
from hub.domain.catalog.barcode_check import normalise
from hub.domain.catalog.csv_io import ImportReport, ImportRequest
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
    TaxGroupIn,
    TaxGroupView,
    TaxRateIn,
    TaxRateView,
    UnitIn,
    UnitView,
    VariantIn,
)
from hub.domain.errors import Invalid, NotFound

router = Router()
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000)]


class ProductQuery(msgspec.Struct, forbid_unknown_fields=True):
    search: str = ""
    category_id: int | None = None
    include_archived: bool = False
    limit: Limit = 100
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class CustomerQuery(msgspec.Struct, forbid_unknown_fields=True):
    search: str = ""
    limit: Limit = 100
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class Archived(msgspec.Struct):
    id: int
    active: bool = False


def _csv(text: str, name: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- taxes -------------------------------------------------------------------------------


@router.route("GET", "/api/v1/tax-rates", response=list[TaxRateView], tags=("catalog",))
async def list_tax_rates(ctx: RequestContext, _: None) -> list[TaxRateView]:
    """Tax rates in the order they apply (priority)."""
    return await ctx.services.catalog.tax_rates()


@router.route(
    "POST", "/api/v1/tax-rates", body=TaxRateIn, response=TaxRateView, status=201, tags=("catalog",)
)
async def create_tax_rate(ctx: RequestContext, body: TaxRateIn) -> Reply:
    """Add a tax rate (inclusive or exclusive, compound, priority; one may be the default)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_tax_rate(body, actor=ctx.actor))


@router.route(
    "PUT", "/api/v1/tax-rates/{id}", body=TaxRateIn, response=TaxRateView, errors=(404,), tags=("catalog",)
)
async def put_tax_rate(ctx: RequestContext, body: TaxRateIn) -> TaxRateView:
    """Replace a tax rate. Sales already made keep the rate they were taxed at."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_tax_rate(body, actor=ctx.actor, rate_id=ctx.path_int("id"))


@router.route("GET", "/api/v1/tax-groups", response=list[TaxGroupView], tags=("catalog",))
async def list_tax_groups(ctx: RequestContext, _: None) -> list[TaxGroupView]:
    """Tax groups: several rates that apply together."""
    return await ctx.services.catalog.tax_groups()


@router.route(
    "POST", "/api/v1/tax-groups", body=TaxGroupIn, response=TaxGroupView, status=201, tags=("catalog",)
)
async def create_tax_group(ctx: RequestContext, body: TaxGroupIn) -> Reply:
    """Add a tax group of existing rates."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_tax_group(body, actor=ctx.actor))


@router.route(
    "PUT", "/api/v1/tax-groups/{id}", body=TaxGroupIn, response=TaxGroupView, errors=(404,), tags=("catalog",)
)
async def put_tax_group(ctx: RequestContext, body: TaxGroupIn) -> TaxGroupView:
    """Replace a tax group's name and rates."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_tax_group(body, actor=ctx.actor, group_id=ctx.path_int("id"))


# --- units and categories ----------------------------------------------------------------


@router.route("GET", "/api/v1/units", response=list[UnitView], tags=("catalog",))
async def list_units(ctx: RequestContext, _: None) -> list[UnitView]:
    """Units of measure."""
    return await ctx.services.catalog.units()


@router.route("POST", "/api/v1/units", body=UnitIn, response=UnitView, status=201, tags=("catalog",))
async def create_unit(ctx: RequestContext, body: UnitIn) -> Reply:
    """Add a unit; ``decimals`` is how finely it is sold (3 for kilograms)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_unit(body, actor=ctx.actor))


@router.route("PUT", "/api/v1/units/{id}", body=UnitIn, response=UnitView, errors=(404,), tags=("catalog",))
async def put_unit(ctx: RequestContext, body: UnitIn) -> UnitView:
    """Replace a unit."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_unit(body, actor=ctx.actor, unit_id=ctx.path_int("id"))


@router.route("GET", "/api/v1/categories", response=list[CategoryView], tags=("catalog",))
async def list_categories(ctx: RequestContext, _: None) -> list[CategoryView]:
    """Categories in their sort order."""
    return await ctx.services.catalog.categories()


@router.route(
    "POST", "/api/v1/categories", body=CategoryIn, response=CategoryView, status=201, tags=("catalog",)
)
async def create_category(ctx: RequestContext, body: CategoryIn) -> Reply:
    """Add a category (colour, sort order, optional parent)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_category(body, actor=ctx.actor))


@router.route(
    "PUT", "/api/v1/categories/{id}", body=CategoryIn, response=CategoryView, errors=(404,), tags=("catalog",)
)
async def put_category(ctx: RequestContext, body: CategoryIn) -> CategoryView:
    """Replace a category; a parent that would make a loop is refused."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_category(body, actor=ctx.actor, category_id=ctx.path_int("id"))


# --- products ----------------------------------------------------------------------------


@router.route("GET", "/api/v1/products", query=ProductQuery, response=ProductPage, tags=("catalog",))
async def list_products(ctx: RequestContext, _: None) -> ProductPage:
    """Products by name; ``search`` matches the name, the SKU or a barcode."""
    q: ProductQuery = ctx.query
    return await ctx.services.catalog.products(
        search=q.search,
        category_id=q.category_id,
        include_archived=q.include_archived,
        limit=q.limit,
        offset=q.offset,
    )


@router.route("POST", "/api/v1/products", body=ProductIn, response=ProductView, status=201, tags=("catalog",))
async def create_product(ctx: RequestContext, body: ProductIn) -> Reply:
    """Add a product with its barcodes and variants."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.create_product(body, actor=ctx.actor))


@router.route("GET", "/api/v1/products/export.csv", tags=("catalog",))
async def export_products(ctx: RequestContext, _: None) -> web.Response:
    """All active products as CSV (name, price, SKU, barcodes, category, stock, cost ...)."""
    return _csv(await ctx.services.catalog_csv.export_products(), "products.csv")


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
    errors=(404,),
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


@router.route(
    "POST",
    "/api/v1/products/{id}/variants",
    body=VariantIn,
    response=ProductView,
    status=201,
    tags=("catalog",),
)
async def add_variant(ctx: RequestContext, body: VariantIn) -> Reply:
    """Add a variant (own price, SKU, barcodes, stock)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.add_variant(ctx.path_int("id"), body, actor=ctx.actor))


@router.route("GET", "/api/v1/barcodes/{code}", response=ProductView, errors=(404, 422), tags=("catalog",))
async def lookup_barcode(ctx: RequestContext, _: None) -> ProductView:
    """The product (with its variants) a scanned EAN-13, EAN-8, UPC-A or own code belongs to."""
    code = ctx.request.match_info["code"]
    try:
        normal = normalise(code)
    except ValueError as exc:
        raise Invalid("bad_check_digit", str(exc)) from None
    item = await ctx.services.catalog.adapter.by_barcode(normal)
    if item is None:
        raise NotFound("unknown_barcode", f"no product or variant has barcode {code}")
    return await ctx.services.catalog.product(item.product_id)


# --- customers ---------------------------------------------------------------------------


@router.route("GET", "/api/v1/customers", query=CustomerQuery, response=CustomerPage, tags=("customers",))
async def list_customers(ctx: RequestContext, _: None) -> CustomerPage:
    """Customers by name; ``search`` matches name, e-mail, phone or company."""
    q: CustomerQuery = ctx.query
    return await ctx.services.catalog.customers(search=q.search, limit=q.limit, offset=q.offset)


@router.route(
    "POST", "/api/v1/customers", body=CustomerIn, response=CustomerView, status=201, tags=("customers",)
)
async def create_customer(ctx: RequestContext, body: CustomerIn) -> Reply:
    """Add a customer (B2B: company name, tax id and address)."""
    return Reply(201, await ctx.services.catalog.save_customer(body, actor=ctx.actor))


@router.route("GET", "/api/v1/customers/export.csv", tags=("customers",))
async def export_customers(ctx: RequestContext, _: None) -> web.Response:
    """All customers as CSV."""
    await ctx.require("catalog")
    return _csv(await ctx.services.catalog_csv.export_customers(), "customers.csv")


@router.route(
    "POST",
    "/api/v1/customers/import",
    body=ImportRequest,
    response=ImportReport,
    errors=(422,),
    tags=("customers",),
)
async def import_customers(ctx: RequestContext, body: ImportRequest) -> ImportReport:
    """Import customers from CSV; existing ones are matched by e-mail and updated."""
    await ctx.require("catalog")
    return await ctx.services.catalog_csv.import_customers(body, actor=ctx.actor)


@router.route("GET", "/api/v1/customers/{id}", response=CustomerView, errors=(404,), tags=("customers",))
async def get_customer(ctx: RequestContext, _: None) -> CustomerView:
    """A customer."""
    return await ctx.services.catalog.customer(ctx.path_int("id"))


@router.route(
    "PUT",
    "/api/v1/customers/{id}",
    body=CustomerIn,
    response=CustomerView,
    errors=(404,),
    tags=("customers",),
)
async def put_customer(ctx: RequestContext, body: CustomerIn) -> CustomerView:
    """Replace a customer's details."""
    return await ctx.services.catalog.save_customer(body, actor=ctx.actor, customer_id=ctx.path_int("id"))


@router.route("DELETE", "/api/v1/customers/{id}", response=Archived, errors=(404,), tags=("customers",))
async def archive_customer(ctx: RequestContext, _: None) -> Archived:
    """Archive a customer (their past sales keep the link)."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("customers", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))
