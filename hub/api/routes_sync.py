"""The cloud link's state (connected, backlog, last acknowledgement, applied config version) and
its reload after ``smartpos-hub claim``."""

from __future__ import annotations

from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Router
from hub.sync.service import SyncStatus
from hub.sync.supervisor import SyncSupervisor

router = Router()


def _supervisor(ctx: RequestContext) -> SyncSupervisor:
    supervisor = ctx.services.sync_supervisor
    if supervisor is None:
        raise ApiError(503, "not_ready", "the cloud link is not set up yet")
    return supervisor


@router.route("GET", "/api/v1/sync/status", auth="admin", response=SyncStatus, tags=("sync",))
async def sync_status(ctx: RequestContext, _: None) -> SyncStatus:
    """Whether the hub talks to the cloud, and how many facts still wait to be delivered."""
    return await _supervisor(ctx).status()


@router.route(
    "POST", "/api/v1/sync/reload", auth="admin", response=SyncStatus, errors=(409, 422), tags=("sync",)
)
async def sync_reload(ctx: RequestContext, _: None) -> SyncStatus:
    """Re-read ``<data_dir>/cloud-link.toml`` and restart the cloud link with it.

    ``smartpos-hub claim`` calls this so a running hub starts syncing without a restart. 409
    ``not_claimed`` when there is no link file, 422 ``cloud_link_invalid`` when it is bad; either
    way the running link is left as it was.
    """
    return await _supervisor(ctx).reload()
