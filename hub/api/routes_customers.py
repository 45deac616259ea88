"""Customers, and customer CSV import/export.

Any paired device may look customers up, and anyone who may sell may add one at the till (the
POS "Customer -> + New"); editing, archiving, import and export (personal data in bulk) need
``catalog``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from hub.api.context import RequestContext
from hub.api.routes_catalog import Archived
from hub.api.routes_products import Limit, csv_response
from hub.api.routing import Reply, Router
from hub.domain.catalog.csv_io import ImportReport, ImportRequest
from hub.domain.catalog.schemas import CustomerIn, CustomerPage, CustomerPatch, CustomerView

router = Router()


class CustomerQuery(msgspec.Struct, forbid_unknown_fields=True):
    """Customer list filters: search (name, e-mail, phone, company, tax id) and paging."""

    search: str = ""
    include_archived: bool = False
    limit: Limit = 100
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


@router.route("GET", "/api/v1/customers", query=CustomerQuery, response=CustomerPage, tags=("customers",))
async def list_customers(ctx: RequestContext, _: None) -> CustomerPage:
    """Customers by name; ``search`` matches name, e-mail, phone, company or tax id."""
    q: CustomerQuery = ctx.query
    return await ctx.services.catalog.customers(
        search=q.search, include_archived=q.include_archived, limit=q.limit, offset=q.offset
    )


@router.route(
    "POST",
    "/api/v1/customers",
    body=CustomerIn,
    response=CustomerView,
    status=201,
    errors=(422,),
    tags=("customers",),
)
async def create_customer(ctx: RequestContext, body: CustomerIn) -> Reply:
    """Add a customer (B2B: company name, tax id and address)."""
    await ctx.require("sell")
    return Reply(201, await ctx.services.catalog.save_customer(body, actor=ctx.actor))


@router.route("GET", "/api/v1/customers/export.csv", tags=("customers",))
async def export_customers(ctx: RequestContext, _: None) -> web.Response:
    """All active customers as CSV."""
    await ctx.require("catalog")
    return csv_response(await ctx.services.catalog_csv.export_customers(), "customers.csv")


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
    await ctx.require("catalog")
    return await ctx.services.catalog.save_customer(body, actor=ctx.actor, customer_id=ctx.path_int("id"))


@router.route(
    "PATCH",
    "/api/v1/customers/{id}",
    body=CustomerPatch,
    response=CustomerView,
    errors=(404,),
    tags=("customers",),
)
async def patch_customer(ctx: RequestContext, body: CustomerPatch) -> CustomerView:
    """Change some of a customer's details (``null`` clears an optional one)."""
    await ctx.require("catalog")
    await ctx.services.catalog.patch("customers", ctx.path_int("id"), body, actor=ctx.actor)
    return await ctx.services.catalog.customer(ctx.path_int("id"))


@router.route("DELETE", "/api/v1/customers/{id}", response=Archived, errors=(404,), tags=("customers",))
async def archive_customer(ctx: RequestContext, _: None) -> Archived:
    """Archive a customer (their past sales keep the link)."""
    await ctx.require("catalog")
    await ctx.services.catalog.archive("customers", ctx.path_int("id"), actor=ctx.actor)
    return Archived(id=ctx.path_int("id"))
