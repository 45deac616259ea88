"""Catalog reference data: tax rates, tax groups, units and categories; barcode lookup.

Products, variants and stock are in :mod:`hub.api.routes_products`, customers in
:mod:`hub.api.routes_customers`. Thin: decode, check the permission (reads: any paired device;
writes: ``catalog``), call :mod:`hub.domain.catalog`, answer. ``DELETE`` archives: the row stays
for the sales that name it, and one still in use is refused with 409 ``in_use``.
"""

from __future__ import annotations

import msgspec

from hub.api.context import RequestContext
from hub.api.routing import Reply, Router
from hub.domain.catalog.barcode_check import normalise
from hub.domain.catalog.schemas import (
    CategoryIn,
    CategoryPatch,
    CategoryView,
    ProductView,
    TaxGroupIn,
    TaxGroupPatch,
    TaxGroupView,
    TaxRateIn,
    TaxRatePatch,
    TaxRateView,
    UnitIn,
    UnitPatch,
    UnitView,
)
from hub.domain.errors import Invalid, NotFound

router = Router()


class ListQuery(msgspec.Struct, forbid_unknown_fields=True):
    """List filters: archived rows are left out unless asked for."""

    include_archived: bool = False


class Archived(msgspec.Struct):
    """The answer to a DELETE: the row is kept, archived."""

    id: int
    active: bool = False


# --- tax rates -----------------------------------------------------------------------------


@router.route("GET", "/api/v1/tax-rates", query=ListQuery, response=list[TaxRateView], tags=("catalog",))
async def list_tax_rates(ctx: RequestContext, _: None) -> list[TaxRateView]:
    """Tax rates in the order they apply (priority)."""
    return await ctx.services.catalog.tax_rates(include_archived=ctx.query.include_archived)


@router.route(
    "POST", "/api/v1/tax-rates", body=TaxRateIn, response=TaxRateView, status=201, tags=("catalog",)
)
async def create_tax_rate(ctx: RequestContext, body: TaxRateIn) -> Reply:
    """Add a tax rate (inclusive or exclusive, compound, priority; one may be the default)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_tax_rate(body, actor=ctx.actor))


@router.route("GET", "/api/v1/tax-rates/{id}", response=TaxRateView, errors=(404,), tags=("catalog",))
async def get_tax_rate(ctx: RequestContext, _: None) -> TaxRateView:
    """One tax rate."""
    return await ctx.services.catalog.tax_rate(ctx.path_int("id"))


@router.route(
    "PUT", "/api/v1/tax-rates/{id}", body=TaxRateIn, response=TaxRateView, errors=(404,), tags=("catalog",)
)
async def put_tax_rate(ctx: RequestContext, body: TaxRateIn) -> TaxRateView:
    """Replace a tax rate. Sales already made keep the rate they were taxed at."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_tax_rate(body, actor=ctx.actor, rate_id=ctx.path_int("id"))


@router.route(
    "PATCH",
    "/api/v1/tax-rates/{id}",
    body=TaxRatePatch,
    response=TaxRateView,
    errors=(404,),
    tags=("catalog",),
)
async def patch_tax_rate(ctx: RequestContext, body: TaxRatePatch) -> TaxRateView:
    """Change some fields of a tax rate (``active: true`` brings an archived one back)."""
    await ctx.require("catalog")
    await ctx.services.catalog.patch("tax_rates", ctx.path_int("id"), body, actor=ctx.actor)
    return await ctx.services.catalog.tax_rate(ctx.path_int("id"))


@router.route("DELETE", "/api/v1/tax-rates/{id}", response=Archived, errors=(404, 409), tags=("catalog",))
async def archive_tax_rate(ctx: RequestContext, _: None) -> Archived:
    """Archive a tax rate no active product or group uses (it stops being the default)."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("tax_rates", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))


# --- tax groups ----------------------------------------------------------------------------


@router.route("GET", "/api/v1/tax-groups", query=ListQuery, response=list[TaxGroupView], tags=("catalog",))
async def list_tax_groups(ctx: RequestContext, _: None) -> list[TaxGroupView]:
    """Tax groups: several rates that apply together."""
    return await ctx.services.catalog.tax_groups(include_archived=ctx.query.include_archived)


@router.route(
    "POST", "/api/v1/tax-groups", body=TaxGroupIn, response=TaxGroupView, status=201, tags=("catalog",)
)
async def create_tax_group(ctx: RequestContext, body: TaxGroupIn) -> Reply:
    """Add a tax group of existing rates."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_tax_group(body, actor=ctx.actor))


@router.route("GET", "/api/v1/tax-groups/{id}", response=TaxGroupView, errors=(404,), tags=("catalog",))
async def get_tax_group(ctx: RequestContext, _: None) -> TaxGroupView:
    """One tax group with its rates."""
    return await ctx.services.catalog.tax_group(ctx.path_int("id"))


@router.route(
    "PUT", "/api/v1/tax-groups/{id}", body=TaxGroupIn, response=TaxGroupView, errors=(404,), tags=("catalog",)
)
async def put_tax_group(ctx: RequestContext, body: TaxGroupIn) -> TaxGroupView:
    """Replace a tax group's name and rates."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_tax_group(body, actor=ctx.actor, group_id=ctx.path_int("id"))


@router.route(
    "PATCH",
    "/api/v1/tax-groups/{id}",
    body=TaxGroupPatch,
    response=TaxGroupView,
    errors=(404,),
    tags=("catalog",),
)
async def patch_tax_group(ctx: RequestContext, body: TaxGroupPatch) -> TaxGroupView:
    """Change a tax group's name or rates."""
    await ctx.require("catalog")
    await ctx.services.catalog.patch("tax_groups", ctx.path_int("id"), body, actor=ctx.actor)
    return await ctx.services.catalog.tax_group(ctx.path_int("id"))


@router.route("DELETE", "/api/v1/tax-groups/{id}", response=Archived, errors=(404, 409), tags=("catalog",))
async def archive_tax_group(ctx: RequestContext, _: None) -> Archived:
    """Archive a tax group no active product uses."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("tax_groups", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))


# --- units ---------------------------------------------------------------------------------


@router.route("GET", "/api/v1/units", query=ListQuery, response=list[UnitView], tags=("catalog",))
async def list_units(ctx: RequestContext, _: None) -> list[UnitView]:
    """Units of measure."""
    return await ctx.services.catalog.units(include_archived=ctx.query.include_archived)


@router.route("POST", "/api/v1/units", body=UnitIn, response=UnitView, status=201, tags=("catalog",))
async def create_unit(ctx: RequestContext, body: UnitIn) -> Reply:
    """Add a unit; ``decimals`` is how finely it is sold (3 for kilograms)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_unit(body, actor=ctx.actor))


@router.route("GET", "/api/v1/units/{id}", response=UnitView, errors=(404,), tags=("catalog",))
async def get_unit(ctx: RequestContext, _: None) -> UnitView:
    """One unit."""
    return await ctx.services.catalog.unit(ctx.path_int("id"))


@router.route("PUT", "/api/v1/units/{id}", body=UnitIn, response=UnitView, errors=(404,), tags=("catalog",))
async def put_unit(ctx: RequestContext, body: UnitIn) -> UnitView:
    """Replace a unit."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_unit(body, actor=ctx.actor, unit_id=ctx.path_int("id"))


@router.route(
    "PATCH", "/api/v1/units/{id}", body=UnitPatch, response=UnitView, errors=(404,), tags=("catalog",)
)
async def patch_unit(ctx: RequestContext, body: UnitPatch) -> UnitView:
    """Change some fields of a unit."""
    await ctx.require("catalog")
    await ctx.services.catalog.patch("units", ctx.path_int("id"), body, actor=ctx.actor)
    return await ctx.services.catalog.unit(ctx.path_int("id"))


@router.route("DELETE", "/api/v1/units/{id}", response=Archived, errors=(404, 409), tags=("catalog",))
async def archive_unit(ctx: RequestContext, _: None) -> Archived:
    """Archive a unit no active product uses."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("units", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))


# --- categories ----------------------------------------------------------------------------


@router.route("GET", "/api/v1/categories", query=ListQuery, response=list[CategoryView], tags=("catalog",))
async def list_categories(ctx: RequestContext, _: None) -> list[CategoryView]:
    """Categories in their sort order."""
    return await ctx.services.catalog.categories(include_archived=ctx.query.include_archived)


@router.route(
    "POST", "/api/v1/categories", body=CategoryIn, response=CategoryView, status=201, tags=("catalog",)
)
async def create_category(ctx: RequestContext, body: CategoryIn) -> Reply:
    """Add a category (colour, sort order, optional parent)."""
    await ctx.require("catalog")
    return Reply(201, await ctx.services.catalog.save_category(body, actor=ctx.actor))


@router.route("GET", "/api/v1/categories/{id}", response=CategoryView, errors=(404,), tags=("catalog",))
async def get_category(ctx: RequestContext, _: None) -> CategoryView:
    """One category."""
    return await ctx.services.catalog.category(ctx.path_int("id"))


@router.route(
    "PUT", "/api/v1/categories/{id}", body=CategoryIn, response=CategoryView, errors=(404,), tags=("catalog",)
)
async def put_category(ctx: RequestContext, body: CategoryIn) -> CategoryView:
    """Replace a category; a parent that would make a loop is refused."""
    await ctx.require("catalog")
    return await ctx.services.catalog.save_category(body, actor=ctx.actor, category_id=ctx.path_int("id"))


@router.route(
    "PATCH",
    "/api/v1/categories/{id}",
    body=CategoryPatch,
    response=CategoryView,
    errors=(404,),
    tags=("catalog",),
)
async def patch_category(ctx: RequestContext, body: CategoryPatch) -> CategoryView:
    """Change some fields of a category; ``parent_id: null`` makes it top-level."""
    await ctx.require("catalog")
    await ctx.services.catalog.patch("categories", ctx.path_int("id"), body, actor=ctx.actor)
    return await ctx.services.catalog.category(ctx.path_int("id"))


@router.route("DELETE", "/api/v1/categories/{id}", response=Archived, errors=(404, 409), tags=("catalog",))
async def archive_category(ctx: RequestContext, _: None) -> Archived:
    """Archive a category without active products or subcategories."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("categories", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))


# --- barcodes ------------------------------------------------------------------------------


@router.route("GET", "/api/v1/barcodes/{code}", response=ProductView, errors=(404, 422), tags=("catalog",))
async def lookup_barcode(ctx: RequestContext, _: None) -> ProductView:
    """The product (with its variants) a scanned EAN-13, EAN-8, UPC-A or own code belongs to."""
    code = ctx.request.match_info["code"]
    try:
        normal = normalise(code)
    except ValueError as exc:
        raise Invalid("bad_check_digit", str(exc), details={"barcode": code}) from None
    item = await ctx.services.catalog.adapter.by_barcode(normal)
    if item is None:
        raise NotFound("unknown_barcode", f"no product or variant has barcode {code}")
    return await ctx.services.catalog.product(item.product_id)
