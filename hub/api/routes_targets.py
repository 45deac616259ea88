"""Sales targets: authoring (``settings`` permission) and the POS progress view.

Reads are open to any paired device; writes need ``settings``. The POS calls
``GET /api/v1/sales-targets/progress`` for the current week (the day +- 7 days).
"""

from __future__ import annotations

from datetime import date

import msgspec

from hub.api.context import RequestContext
from hub.api.routing import Reply, Router
from hub.domain.targets.schemas import (
    DaysIn,
    ProgressView,
    SalesTargetIn,
    SalesTargetSummary,
    SalesTargetView,
)

router = Router()
TAGS = ("sales-targets",)


class TargetList(msgspec.Struct):
    targets: list[SalesTargetSummary]


class ProgressQuery(msgspec.Struct, forbid_unknown_fields=True):
    date: date | None = None


class Deleted(msgspec.Struct):
    id: int
    deleted: bool = True


@router.route("GET", "/api/v1/sales-targets/progress", query=ProgressQuery, response=ProgressView, tags=TAGS)
async def targets_progress(ctx: RequestContext, _: None) -> ProgressView:
    """The store's targets for a day +- 7 days (``date``, default today in the store's time zone).

    Per day: the goal (null when none is set), the achieved amount from sales (training sales
    left out, refunds subtracted) and the percentage of the goal.
    """
    query: ProgressQuery = ctx.query
    return await ctx.services.targets.progress(query.date)


@router.route("GET", "/api/v1/sales-targets", response=TargetList, tags=TAGS)
async def list_targets(ctx: RequestContext, _: None) -> TargetList:
    """Every sales target without its days."""
    return TargetList(targets=await ctx.services.targets.all())


@router.route(
    "POST",
    "/api/v1/sales-targets",
    body=SalesTargetIn,
    response=SalesTargetView,
    status=201,
    errors=(403, 422),
    tags=TAGS,
)
async def create_target(ctx: RequestContext, body: SalesTargetIn) -> Reply:
    """Add a sales target (seed 001 fields), optionally with its daily goals."""
    await ctx.require("settings")
    return Reply(201, await ctx.services.targets.create(body, actor=ctx.actor))


@router.route("GET", "/api/v1/sales-targets/{id}", response=SalesTargetView, errors=(404,), tags=TAGS)
async def get_target(ctx: RequestContext, _: None) -> SalesTargetView:
    """A sales target with its daily goals and what each day achieved."""
    return await ctx.services.targets.get(ctx.path_int("id"))


@router.route(
    "PUT",
    "/api/v1/sales-targets/{id}",
    body=SalesTargetIn,
    response=SalesTargetView,
    errors=(403, 404, 422),
    tags=TAGS,
)
async def update_target(ctx: RequestContext, body: SalesTargetIn) -> SalesTargetView:
    """Replace a sales target; its daily goals are kept unless ``days`` is given."""
    await ctx.require("settings")
    return await ctx.services.targets.update(ctx.path_int("id"), body, actor=ctx.actor)


@router.route(
    "PUT",
    "/api/v1/sales-targets/{id}/days",
    body=DaysIn,
    response=SalesTargetView,
    errors=(403, 404, 422),
    tags=TAGS,
)
async def set_target_days(ctx: RequestContext, body: DaysIn) -> SalesTargetView:
    """Replace the daily goals (minor units for amount types, decimal strings for quantities)."""
    await ctx.require("settings")
    return await ctx.services.targets.set_days(ctx.path_int("id"), body.days, actor=ctx.actor)


@router.route("DELETE", "/api/v1/sales-targets/{id}", response=Deleted, errors=(403, 404), tags=TAGS)
async def delete_target(ctx: RequestContext, _: None) -> Deleted:
    """Delete a sales target and its daily goals."""
    await ctx.require("settings")
    target_id = ctx.path_int("id")
    await ctx.services.targets.delete(target_id, actor=ctx.actor)
    return Deleted(id=target_id)
