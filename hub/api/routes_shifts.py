"""Shifts and cash: open and close, cash in/out, handovers, courier COD, commission sales,
the checklist, X and Z reports and the POS quick reports.

Every action here is an employee's: it needs a staff session (``X-Staff-Session``) and acts
on that session's terminal.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Reply, Router
from hub.domain.reports.day_close import XReport, ZReport
from hub.domain.reports.quick import QuickReport
from hub.domain.shifts.schemas import (
    CashMovementIn,
    ChecklistItem,
    ChecklistTaskIn,
    CloseShift,
    CommissionIn,
    HandoverIn,
    OpenShift,
    PostalIn,
    ShiftView,
)
from hub.domain.staff.service import StaffSession

router = Router()


class ShiftQuery(msgspec.Struct, forbid_unknown_fields=True):
    state: Literal["open", "closed"] | None = None
    terminal_id: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


class ShiftList(msgspec.Struct):
    shifts: list[ShiftView]


class ChecklistQuery(msgspec.Struct, forbid_unknown_fields=True):
    terminal_id: str


class Checklist(msgspec.Struct):
    items: list[ChecklistItem]


class QuickQuery(msgspec.Struct, forbid_unknown_fields=True):
    period: Literal["today", "week", "month"] = "today"
    terminal_id: str | None = None


class ZList(msgspec.Struct):
    reports: list[ZReport]


class PrintReply(msgspec.Struct):
    job_id: int | None


def _staff(ctx: RequestContext) -> StaffSession:
    if ctx.staff is None:
        raise ApiError(401, "staff_login_required", "log in on this terminal first (X-Staff-Session)")
    return ctx.staff


@router.route(
    "POST",
    "/api/v1/shifts",
    body=OpenShift,
    response=ShiftView,
    status=201,
    errors=(409, 422),
    tags=("shifts",),
)
async def open_shift(ctx: RequestContext, body: OpenShift) -> Reply:
    """Start a shift with the opening cash (reasons when off the standard amount or late)."""
    await ctx.require("shift")
    staff = _staff(ctx)
    if body.terminal_id != staff.terminal_id:
        raise ApiError(422, "wrong_terminal", f"this session is on terminal {staff.terminal_id}")
    return Reply(201, await ctx.services.shifts.open(body, staff))


@router.route("GET", "/api/v1/shifts", query=ShiftQuery, response=ShiftList, tags=("shifts",))
async def list_shifts(ctx: RequestContext, _: None) -> ShiftList:
    """Shifts, newest first, with their figures."""
    query: ShiftQuery = ctx.query
    return ShiftList(
        shifts=await ctx.services.shifts.list(
            state=query.state, terminal_id=query.terminal_id, limit=query.limit, staff=ctx.staff
        )
    )


@router.route("GET", "/api/v1/shifts/{id}", response=ShiftView, errors=(404,), tags=("shifts",))
async def get_shift(ctx: RequestContext, _: None) -> ShiftView:
    """A shift with expected cash, movements and (once closed) counted and difference; no figures
    for a cashier when the store closes blind."""
    return await ctx.services.shifts.view_for(ctx.path_int("id"), ctx.staff)


@router.route(
    "POST",
    "/api/v1/shifts/{id}/close",
    body=CloseShift,
    response=ShiftView,
    errors=(409, 422),
    tags=("shifts",),
)
async def close_shift(ctx: RequestContext, body: CloseShift) -> ShiftView:
    """Close with counted money per tender; the checklist must be done; the report prints."""
    await ctx.require("shift")
    return await ctx.services.shifts.close(ctx.path_int("id"), body, ctx.staff, actor=ctx.actor)


@router.route("POST", "/api/v1/shifts/{id}/report", response=PrintReply, status=201, tags=("shifts",))
async def print_shift_report(ctx: RequestContext, _: None) -> Reply:
    """Print the shift report (again)."""
    await ctx.require("shift")
    return Reply(
        201, PrintReply(job_id=await ctx.services.shifts.print_report(ctx.path_int("id"), actor=ctx.actor))
    )


@router.route(
    "POST", "/api/v1/cash/movements", body=CashMovementIn, response=ShiftView, status=201, tags=("shifts",)
)
async def cash_movement(ctx: RequestContext, body: CashMovementIn) -> Reply:
    """Cash in or cash out of the drawer, with a reason."""
    await ctx.require("cash_in_out")
    return Reply(201, await ctx.services.cash.move(_staff(ctx), body))


@router.route(
    "POST",
    "/api/v1/cash/handovers",
    body=HandoverIn,
    response=ShiftView,
    status=201,
    errors=(401, 403, 429),
    tags=("shifts",),
)
async def handover(ctx: RequestContext, body: HandoverIn) -> Reply:
    """Hand cash to a manager or owner, who confirms with their PIN; a wrong PIN moves nothing."""
    await ctx.require("shift")
    return Reply(201, await ctx.services.cash.handover(_staff(ctx), body))


@router.route("POST", "/api/v1/cash/postal", body=PostalIn, response=ShiftView, status=201, tags=("shifts",))
async def postal(ctx: RequestContext, body: PostalIn) -> Reply:
    """Courier packages received; their cash-on-delivery money goes into the drawer."""
    await ctx.require("postal")
    return Reply(201, await ctx.services.cash.postal(_staff(ctx), body))


@router.route(
    "POST", "/api/v1/cash/commission", body=CommissionIn, response=ShiftView, status=201, tags=("shifts",)
)
async def commission(ctx: RequestContext, body: CommissionIn) -> Reply:
    """A commission (consignment) sale, kept apart from the store's own sales."""
    await ctx.require("commission_sale")
    return Reply(201, await ctx.services.cash.commission(_staff(ctx), body))


@router.route("GET", "/api/v1/checklist", query=ChecklistQuery, response=Checklist, tags=("shifts",))
async def checklist(ctx: RequestContext, _: None) -> Checklist:
    """Today's tasks for a terminal and whether each is done."""
    query: ChecklistQuery = ctx.query
    return Checklist(items=await ctx.services.shifts.checklist.items(query.terminal_id))


@router.route(
    "POST", "/api/v1/checklist/tasks", body=ChecklistTaskIn, response=Checklist, status=201, tags=("shifts",)
)
async def add_task(ctx: RequestContext, body: ChecklistTaskIn) -> Reply:
    """Add a checklist task (daily, weekly or monthly; mandatory ones block closing)."""
    await ctx.require("settings")
    await ctx.services.shifts.checklist.add_task(body, actor=ctx.actor)
    return Reply(201, Checklist(items=[]))


@router.route(
    "POST", "/api/v1/checklist/tasks/{id}/done", response=Checklist, errors=(404,), tags=("shifts",)
)
async def task_done(ctx: RequestContext, _: None) -> Checklist:
    """Tick a task off for this terminal and period."""
    staff = _staff(ctx)
    items = await ctx.services.shifts.checklist.mark_done(
        ctx.path_int("id"), staff.terminal_id, actor=ctx.actor
    )
    return Checklist(items=items)


@router.route("POST", "/api/v1/reports/x", response=XReport, status=201, tags=("reports",))
async def x_report(ctx: RequestContext, _: None) -> Reply:
    """The X report: the day so far, printed; resets nothing."""
    await ctx.require("x_report")
    return Reply(201, await ctx.services.day_close.x_report(actor=ctx.actor))


@router.route("POST", "/api/v1/reports/z", response=ZReport, status=201, errors=(409,), tags=("reports",))
async def z_report(ctx: RequestContext, _: None) -> Reply:
    """The Z report: closes the day under the next Z number, stores it for good and prints it."""
    await ctx.require("z_report")
    return Reply(201, await ctx.services.day_close.z_report(actor=ctx.actor))


@router.route("GET", "/api/v1/reports/z", response=ZList, tags=("reports",))
async def z_reports(ctx: RequestContext, _: None) -> ZList:
    """Stored Z reports, newest first."""
    await ctx.require("reports")
    return ZList(reports=await ctx.services.day_close.z_reports())


@router.route("GET", "/api/v1/reports/quick", query=QuickQuery, response=QuickReport, tags=("reports",))
async def quick_report(ctx: RequestContext, _: None) -> QuickReport:
    """Today, this week or this month: totals, average, items, top products, cash/card split."""
    await ctx.require("reports")
    query: QuickQuery = ctx.query
    return await ctx.services.quick_reports.report(query.period, query.terminal_id)
