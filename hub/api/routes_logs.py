"""The hub's recent log records and the diagnostics bundle, for the technician's CLI.

``GET /api/v1/logs`` reads the in-memory ring of :mod:`hub.logs` (the journal needs root and is
absent outside systemd) and can long-poll, so ``smartpos-hub logs --follow`` costs one request
per batch of records instead of a poll every second. ``GET /api/v1/diagnostics`` builds the
support bundle with :mod:`hub.domain.diagnostics`. Both need the local admin credential: log
lines name devices, employees and tablets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from aiohttp import web

from hub import __version__
from hub.api.context import HubServices, RequestContext
from hub.api.routing import Router
from hub.domain.diagnostics import (
    DiagnosticsInput,
    archive_name,
    build_archive,
    check_database,
    collect_versions,
)
from hub.logs import RECENT, RING_SIZE, LogPage

log = logging.getLogger(__name__)
router = Router()
MAX_WAIT_S = 30.0  # below the CLI's and most proxies' idle timeouts
RECENT_ERRORS = 200  # warning-and-above records put in the bundle
T = TypeVar("T")


class LogsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Filters for GET /api/v1/logs.

    ``after``: only records with a greater id (page forward with the previous ``last_id``);
    without it the newest ``limit`` records. ``level``: this level and above. ``wait``: seconds
    to hold the request open until a matching record arrives.
    """

    after: Annotated[int, msgspec.Meta(ge=0)] | None = None
    device: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    level: Literal["debug", "info", "warning", "error", "critical"] | None = None
    limit: Annotated[int, msgspec.Meta(ge=0, le=RING_SIZE)] = 200
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT_S)] = 0.0


@router.route(
    "GET", "/api/v1/logs", auth="admin", query=LogsQuery, response=LogPage, errors=(400,), tags=("system",)
)
async def recent_logs(ctx: RequestContext, _: None) -> LogPage:
    """The hub's recent log records (an in-memory ring of the last 2,000), oldest first.

    Filter by device id and minimum level. With ``wait`` > 0 (at most 30 s) the request waits
    until a matching record arrives past ``after`` or the time is up, then answers with what
    there is (possibly none). ``last_id`` is the ``after`` of the next request.
    """
    q: LogsQuery = ctx.query
    return await RECENT.wait(after=q.after, device=q.device, level=q.level, limit=q.limit, timeout=q.wait)


async def release_log_waiters(app: web.Application) -> None:
    """On API shutdown: answer pending long-polls now instead of holding the shutdown for them."""
    RECENT.release_waiters()


async def _attempt(what: str, operation: Awaitable[T], notes: list[str]) -> T | None:
    """One part of the bundle; a failure is noted in it rather than failing the whole bundle,
    because the bundle is most needed exactly when something in the hub is broken."""
    try:
        return await operation
    except Exception as exc:
        log.warning("diagnostics: part failed", extra={"part": what, "error": str(exc)})
        notes.append(f"{what}: {type(exc).__name__}: {exc}")
        return None


async def _devices(services: HubServices) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(view) for view in await services.devices.views()]


async def _sync(services: HubServices) -> dict[str, Any]:
    supervisor = services.sync_supervisor
    if supervisor is None:
        return {"available": False, "reason": "the cloud link is not set up yet"}
    status: dict[str, Any] = msgspec.to_builtins(await supervisor.status())
    return status


@router.route("GET", "/api/v1/diagnostics", auth="admin", tags=("system",))
async def diagnostics(ctx: RequestContext, _: None) -> web.Response:
    """A tar.gz (application/gzip) for support: what ``smartpos-hub diagnose`` saves.

    It holds ``config.toml`` (the effective config, passwords, secrets, tokens and keys shown as
    ``***``), ``versions.json``, ``devices.json`` (live status), ``recent_errors.json`` (warning
    and above from the log ring), ``integrity.txt`` (SQLite integrity check and schema version),
    ``sync.json`` and ``manifest.json``. A part that fails is noted in the manifest.
    """
    s = ctx.services
    at = datetime.now(UTC)
    notes: list[str] = []
    devices = await _attempt("devices", _devices(s), notes)
    sync = await _attempt("sync", _sync(s), notes)
    errors = RECENT.query(level="warning", limit=RECENT_ERRORS).records
    # The integrity check reads every page and compressing is CPU work: both off the event loop,
    # so tablets keep selling while the bundle is built.
    integrity = await asyncio.to_thread(check_database, s.db.path)
    data = DiagnosticsInput(
        source="daemon",
        hub_name=s.config.hub_name,
        created_at=at.isoformat(timespec="seconds"),
        config=msgspec.to_builtins(s.config),
        versions={**collect_versions(__version__), "hub_id": s.hub_id, "started_at": s.started_at},
        devices=devices or [],
        recent_errors=[msgspec.to_builtins(entry) for entry in errors],
        integrity=integrity,
        sync=sync,
        notes=notes,
    )
    body = await asyncio.to_thread(build_archive, data)
    log.info("diagnostics bundle built", extra={"bytes": len(body), "integrity_ok": integrity.ok})
    return web.Response(
        body=body,
        content_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{archive_name(s.config.hub_name, at)}"'},
    )
