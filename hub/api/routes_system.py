"""Health, readiness, hub status, pairing (and its reset), tokens and backup."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import msgspec
from aiohttp import web

from hub import __version__
from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Reply, Router
from hub.api.schemas import (
    BackupResponse,
    Health,
    HubStatus,
    PairingCode,
    PairRequest,
    PairResponse,
    Readiness,
    TokenList,
)
from hub.domain.auth import PairingError, PairingRateLimited, TokenInfo

log = logging.getLogger(__name__)
router = Router()


class PairingReset(msgspec.Struct):
    """The tablet tokens just revoked and a fresh one-time code to pair the first one again."""

    revoked: list[TokenInfo]
    code: str
    expires_at: str


@router.route("GET", "/healthz", auth="none", response=Health, tags=("system",))
async def healthz(ctx: RequestContext, _: None) -> Health:
    """Liveness: the process is up and its event loop answers."""
    return Health(status="ok")


@router.route("GET", "/readyz", auth="none", response=Readiness, errors=(503,), tags=("system",))
async def readyz(ctx: RequestContext, _: None) -> Reply:
    """Readiness: storage is open and the devices are loaded."""
    services = ctx.services
    storage = "ok" if services.db.is_open else "closed"
    devices = "loaded" if services.devices.loaded else "loading"
    ready = storage == "ok" and devices == "loaded"
    return Reply(200 if ready else 503, Readiness(ready=ready, storage=storage, devices=devices))


@router.route("GET", "/api/v1/status", response=HubStatus, tags=("system",))
async def hub_status(ctx: RequestContext, _: None) -> HubStatus:
    """The hub's identity, uptime and every device's live status."""
    s = ctx.services
    return HubStatus(
        hub_id=s.hub_id,
        name=s.config.hub_name,
        version=__version__,
        started_at=s.started_at,
        uptime_s=round(time.monotonic() - s.started_monotonic, 3),
        schema_version=s.db.schema_version,
        api=f"http://{s.config.api.host}:{s.config.api.port}",
        data_dir=str(s.config.data_dir),
        websocket_clients=s.events.subscriber_count,
        last_event_id=await s.events.last_id(),
        devices=await s.devices.views(),
    )


@router.route(
    "POST",
    "/api/v1/pair",
    auth="none",
    body=PairRequest,
    response=PairResponse,
    status=201,
    errors=(401, 429),
    tags=("pairing",),
)
async def pair(ctx: RequestContext, body: PairRequest) -> PairResponse:
    """Exchange a one-time pairing code for a device token.

    Wrong, expired and reused codes all answer 401 ``pairing_failed``; after repeated failures
    the hub answers 429 for a minute so the short code cannot be guessed.
    """
    try:
        token, principal = await ctx.services.auth.pair(body.code, body.name)
    except PairingRateLimited as exc:
        raise ApiError(429, "rate_limited", str(exc), {"retry_after_s": round(exc.retry_after)}) from None
    except PairingError as exc:
        raise ApiError(401, "pairing_failed", str(exc)) from None
    return PairResponse(token=token, token_id=principal.token_id, name=principal.name)


@router.route(
    "POST",
    "/api/v1/pairing-codes",
    auth="admin",
    response=PairingCode,
    status=201,
    tags=("pairing",),
)
async def create_pairing_code(ctx: RequestContext, _: None) -> PairingCode:
    """Make a one-time pairing code (what ``smartpos-hub pair`` prints)."""
    assert ctx.principal is not None
    code, expires_at = await ctx.services.auth.create_pairing_code(ctx.principal)
    return PairingCode(code=code, expires_at=expires_at)


@router.route(
    "POST",
    "/api/v1/pairing/reset",
    auth="admin",
    response=PairingReset,
    tags=("pairing",),
)
async def reset_pairing(ctx: RequestContext, _: None) -> PairingReset:
    """Unpair every tablet at once and make a fresh pairing code (``smartpos-hub reset-pairing``).

    Every device token stops working immediately and unused pairing codes are voided; the local
    admin credential is kept. Audited as ``pairing.reset``.
    """
    assert ctx.principal is not None
    revoked = await ctx.services.auth.reset_pairing(ctx.principal)
    log.warning("pairing reset: every tablet unpaired", extra={"revoked": len(revoked), "by": ctx.actor})
    code, expires_at = await ctx.services.auth.create_pairing_code(ctx.principal)
    return PairingReset(revoked=revoked, code=code, expires_at=expires_at)


@router.route("GET", "/api/v1/tokens", auth="admin", response=TokenList, tags=("pairing",))
async def list_tokens(ctx: RequestContext, _: None) -> TokenList:
    """Paired devices and the local admin credential (hashes are never shown)."""
    tokens = await ctx.services.auth.list_tokens()
    return TokenList(tokens=tokens)


@router.route(
    "DELETE",
    "/api/v1/tokens/{token_id}",
    auth="admin",
    response=Health,
    errors=(404,),
    tags=("pairing",),
)
async def revoke_token(ctx: RequestContext, _: None) -> Health:
    """Unpair a device: its token stops working at once."""
    assert ctx.principal is not None
    if not await ctx.services.auth.revoke(ctx.path_int("token_id"), ctx.principal):
        raise ApiError(404, "token_not_found", "no live token with that id")
    return Health(status="revoked")


@router.route("POST", "/api/v1/backup", auth="admin", response=BackupResponse, status=201, tags=("system",))
async def backup(ctx: RequestContext, _: None) -> BackupResponse:
    """Online backup of the hub's database into ``<data_dir>/backups/`` while it keeps selling."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = ctx.services.config.data_dir / "backups" / f"hub-{stamp}.db"
    size = await ctx.services.db.backup(target)
    return BackupResponse(path=str(target), bytes=size)


# GET /api/v1/audit moved to hub/api/routes_audit.py (filters, paging, export, verify).


def openapi_handler(document: dict[str, object]) -> web.Response:
    return web.Response(body=msgspec.json.encode(document), content_type="application/json")
