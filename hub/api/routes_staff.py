"""Staff: employees, the permission matrix, PIN and card login, terminals and presence.

A tablet logs an employee in with ``POST /api/v1/staff/login`` and sends the returned token
as the ``X-Staff-Session`` header on every later call; the session only works from the
tablet that opened it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Reply, Router
from hub.domain.staff.schemas import (
    EmployeeIn,
    EmployeePatch,
    EmployeeView,
    MatrixView,
    PinLogin,
    RolePermissions,
    SessionView,
)
from hub.domain.staff.service import employee_view
from hub.domain.staff.terminals import TerminalView

router = Router()


class EmployeeList(msgspec.Struct):
    employees: list[EmployeeView]


class TerminalList(msgspec.Struct):
    terminals: list[TerminalView]


class TerminalIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class LoggedOut(msgspec.Struct):
    ended: bool = True


def _device(ctx: RequestContext) -> str:
    if ctx.principal is None:
        raise ApiError(401, "unauthorized", "a paired device token is required")
    return ctx.principal.actor


@router.route("GET", "/api/v1/employees", response=EmployeeList, tags=("staff",))
async def list_employees(ctx: RequestContext, _: None) -> EmployeeList:
    """Employees with their role and flags (never their PIN or card number)."""
    return EmployeeList(employees=await ctx.services.staff.employees())


@router.route(
    "POST", "/api/v1/employees", body=EmployeeIn, response=EmployeeView, status=201, tags=("staff",)
)
async def create_employee(ctx: RequestContext, body: EmployeeIn) -> Reply:
    """Add an employee (seed 001 cashier fields, role, store, commission, PIN)."""
    await ctx.require("staff")
    return Reply(201, await ctx.services.staff.create(body, actor=ctx.actor))


@router.route(
    "PATCH",
    "/api/v1/employees/{id}",
    body=EmployeePatch,
    response=EmployeeView,
    errors=(404,),
    tags=("staff",),
)
async def update_employee(ctx: RequestContext, body: EmployeePatch) -> EmployeeView:
    """Change an employee: role, PIN, card, flags; ``active: false`` disables the login."""
    await ctx.require("staff")
    return await ctx.services.staff.update(ctx.path_int("id"), body, actor=ctx.actor)


@router.route("GET", "/api/v1/permissions", response=MatrixView, tags=("staff",))
async def get_matrix(ctx: RequestContext, _: None) -> MatrixView:
    """The permission matrix: every permission and what each role holds."""
    return await ctx.services.staff.matrix_view()


@router.route(
    "PUT",
    "/api/v1/permissions/{role}",
    body=RolePermissions,
    response=MatrixView,
    errors=(404,),
    tags=("staff",),
)
async def put_role(ctx: RequestContext, body: RolePermissions) -> MatrixView:
    """Set what one role may do (audited); it applies to the next request of every session."""
    await ctx.require("staff")
    return await ctx.services.staff.set_role(
        ctx.request.match_info["role"], body.permissions, actor=ctx.actor
    )


@router.route(
    "POST",
    "/api/v1/staff/login",
    body=PinLogin,
    response=SessionView,
    status=201,
    errors=(401, 429),
    tags=("staff",),
)
async def login(ctx: RequestContext, body: PinLogin) -> Reply:
    """PIN or card login on a terminal; 5 wrong PINs lock the employee and the terminal out."""
    return Reply(201, await ctx.services.staff.login(body, device=_device(ctx)))


@router.route("GET", "/api/v1/staff/me", response=SessionView, errors=(401,), tags=("staff",))
async def me(ctx: RequestContext, _: None) -> SessionView:
    """Who is logged in through this request's ``X-Staff-Session``."""
    if ctx.staff is None:
        raise ApiError(401, "staff_login_required", "no staff session on this request")
    staff = ctx.services.staff
    view = employee_view(await staff.employee_row(ctx.staff.employee_id))
    return SessionView(token=None, employee=view, terminal_id=ctx.staff.terminal_id, preview=ctx.staff.preview,
                       permissions=sorted(ctx.staff.permissions), occupied_by=None, created_at="")  # fmt: skip


@router.route("POST", "/api/v1/staff/logout", response=LoggedOut, tags=("staff",))
async def logout(ctx: RequestContext, _: None) -> LoggedOut:
    """End this request's staff session (the tablet shows the PIN pad again)."""
    if ctx.staff is not None:
        await ctx.services.staff.logout(ctx.staff)
    return LoggedOut()


@router.route("GET", "/api/v1/terminals", response=TerminalList, tags=("staff",))
async def list_terminals(ctx: RequestContext, _: None) -> TerminalList:
    """Terminals with their last heartbeat, online flag and who occupies them."""
    return TerminalList(terminals=await ctx.services.terminals.list())


@router.route(
    "PUT", "/api/v1/terminals/{terminal_id}", body=TerminalIn, response=TerminalView, tags=("staff",)
)
async def register_terminal(ctx: RequestContext, body: TerminalIn) -> TerminalView:
    """Register or rename a terminal ("Terminal 1")."""
    await ctx.require("settings")
    terminal_id = ctx.request.match_info["terminal_id"]
    if not terminal_id.replace("-", "").replace("_", "").isalnum() or len(terminal_id) > 16:
        raise ApiError(422, "invalid_terminal_id", "a terminal id is 1 to 16 letters, digits, '-' or '_'")
    return await ctx.services.terminals.register(terminal_id, body.name, actor=ctx.actor)


@router.route("POST", "/api/v1/terminals/{terminal_id}/heartbeat", response=TerminalView, tags=("staff",))
async def heartbeat(ctx: RequestContext, _: None) -> TerminalView:
    """A tablet says it is alive (every 30 s); the last-seen view shows it."""
    return await ctx.services.terminals.heartbeat(ctx.request.match_info["terminal_id"], device=_device(ctx))
