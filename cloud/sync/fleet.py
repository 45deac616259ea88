"""What hubs say about themselves: presence (``status``) and reported state (``up/state``).

Both are retained messages, so a bridge that (re)connects receives the last of each for every
hub and the fleet view rebuilds itself. Presence goes through :class:`Presence`, which orders
messages by the hub's session counter so a late last will cannot mark a reconnected hub
offline.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models import Hub
from cloud.domain.hubs.schemas import DeviceKind, DeviceReport, DeviceStatus
from cloud.domain.hubs.services import HubService
from cloud.domain.webhooks import emit as webhooks
from cloud.settings import Settings
from cloud.sync.presence import Presence
from protocols.sync.messages import ReportedState, Status

log = logging.getLogger(__name__)
KINDS = frozenset(get_args(DeviceKind))
STATUSES = frozenset(get_args(DeviceStatus))
CONFIG_ERROR_MAX = 4000  # characters of a hub's reason for refusing a config that are kept


class UnusableReport(ValueError):
    """A readable message whose content the cloud cannot take (dead letter)."""


async def apply_status(session: AsyncSession, hub_id: uuid.UUID, status: Status) -> bool:
    """Apply a presence message; True when the hub came online on a new session.

    The caller uses that to send the hub the jobs queued for it.
    """
    hub = await session.get(Hub, hub_id)
    if hub is None:
        return False
    presence = Presence(online=hub.online, session=hub.session, software_version=hub.software_version)
    was_online, old_session = hub.online, hub.session
    if not presence.apply(status):
        log.info("stale presence ignored", extra={"hub": str(hub_id), "session": status.session})
        return False
    hub.online = presence.online
    hub.session = presence.session
    hub.software_version = presence.software_version
    hub.last_seen_at = utcnow()
    if hub.online != was_online:
        # In the transaction that records it: an integrator hears of each change exactly once.
        await webhooks.emit(session, hub.tenant_id, "hub.online" if hub.online else "hub.offline", {
            "hub_id": str(hub.id), "store_id": str(hub.store_id), "name": hub.name, "session": hub.session,
            "software_version": hub.software_version, "at": status.at,
        })  # fmt: skip
    await session.commit()
    return hub.online and (not was_online or hub.session != old_session)


def device_reports(state: ReportedState) -> list[DeviceReport]:
    """The devices of a reported state, checked against what the fleet view can show."""
    reports = []
    for device in state.devices:
        if device.kind not in KINDS:
            raise UnusableReport(f"device {device.id!r}: unknown kind {device.kind!r}")
        if device.status not in STATUSES:
            raise UnusableReport(f"device {device.id!r}: unknown status {device.status!r}")
        if not 1 <= len(device.id) <= 200:
            raise UnusableReport(f"device id {device.id!r} must be 1 to 200 characters")
        details: dict[str, Any] = dict(device.details)
        reports.append(DeviceReport(device.id, device.kind, device.status, details))  # type: ignore[arg-type]
    return reports


async def apply_state(
    session: AsyncSession, settings: Settings, hub_id: uuid.UUID, state: ReportedState
) -> None:
    """Record a hub's reported state: versions, a refused config and why, backlog, devices."""
    reports = device_reports(state)
    hub = await session.get(Hub, hub_id)
    if hub is None:
        return
    hub.applied_config_version = state.config_version
    hub.rejected_config_version = max(0, state.rejected_config_version)
    hub.config_error = state.config_error[:CONFIG_ERROR_MAX]
    hub.software_version = state.software_version or hub.software_version
    hub.backlog = max(0, state.backlog)
    hub.last_seen_at = utcnow()
    # record_devices commits the hub's fields together with its devices.
    await HubService(session, settings).record_devices(hub_id, reports)
