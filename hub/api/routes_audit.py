"""The audit log for the hub's admin: list with filters, CSV export, chain verification.

All three need the local admin credential: the log names employees and tablets and is the
evidence an auditor relies on, so a paired tablet cannot read it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from aiohttp import web

from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Router
from hub.domain import audit
from hub.domain.audit import AuditEntry, VerifyResult

router = Router()


class AuditListQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Filters for GET /api/v1/audit. ``from``/``to`` take an ISO time with zone or a date."""

    actor: str | None = None
    action: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    before_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class AuditPage(msgspec.Struct):
    """One page, newest first; ask for the next with ``before_id=next_before_id``."""

    entries: list[AuditEntry]
    next_before_id: int | None = None


class AuditExportQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None


def _bad_time(exc: ValueError) -> ApiError:
    return ApiError(400, "invalid_query", f"invalid time filter: {exc}")


@router.route(
    "GET",
    "/api/v1/audit",
    auth="admin",
    query=AuditListQuery,
    response=AuditPage,
    errors=(400,),
    tags=("audit",),
)
async def audit_list(ctx: RequestContext, _: None) -> AuditPage:
    """Sensitive actions, newest first: drawer opens, pairings, revocations, cancellations.

    Filter by exact actor and action and by time; page with ``before_id``.
    """
    q: AuditListQuery = ctx.query
    try:
        entries = await audit.query(
            ctx.services.db,
            actor=q.actor,
            action=q.action,
            since=q.from_,
            until=q.to,
            before_id=q.before_id,
            limit=q.limit,
        )
    except ValueError as exc:
        raise _bad_time(exc) from None
    more = len(entries) == q.limit
    return AuditPage(entries=entries, next_before_id=entries[-1].id if more and entries else None)


@router.route(
    "GET", "/api/v1/audit/export.csv", auth="admin", query=AuditExportQuery, errors=(400,), tags=("audit",)
)
async def audit_export(ctx: RequestContext, _: None) -> web.Response:
    """The audit log as CSV (text/csv), oldest first, with each row's prev_hash and hash."""
    q: AuditExportQuery = ctx.query
    try:
        text = await audit.export_csv(ctx.services.db, since=q.from_, until=q.to)
    except ValueError as exc:
        raise _bad_time(exc) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


@router.route("GET", "/api/v1/audit/verify", auth="admin", response=VerifyResult, tags=("audit",))
async def audit_verify(ctx: RequestContext, _: None) -> VerifyResult:
    """Recompute the audit hash chain; ``ok`` false names the first bad row and why.

    Answers 200 either way: the check itself worked, its finding is in the body.
    """
    return await audit.verify(ctx.services.db)
