"""The cloud link's state: connected, backlog, last acknowledgement, applied config version."""

from __future__ import annotations

from hub.api.context import RequestContext
from hub.api.routing import Router
from hub.sync.service import SyncStatus

router = Router()


@router.route("GET", "/api/v1/sync/status", auth="admin", response=SyncStatus, tags=("sync",))
async def sync_status(ctx: RequestContext, _: None) -> SyncStatus:
    """Whether the hub talks to the cloud, and how many facts still wait to be delivered."""
    sync = ctx.services.sync
    if sync is None:
        from hub.domain import outbox

        return SyncStatus(
            enabled=False, connected=False, broker="", hub="", session=0, backlog=await outbox.backlog(ctx.services.db),
            last_ack=await outbox.last_delivered(ctx.services.db), last_ack_at=None, applied_config_version=0,
            last_error="not claimed: the [sync] section is disabled",
        )  # fmt: skip
    return await sync.status()
