"""Wire types of the fleet view."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from cloud.db.models import DeadLetter, Hub
from cloud.domain.hubs.schemas import DeviceRead


class FleetHub(msgspec.Struct):
    """One hub as the fleet view shows it: presence, versions, backlog and its devices."""

    id: uuid.UUID
    store_id: uuid.UUID
    store_name: str
    name: str
    status: str
    online: bool
    last_seen_at: datetime | None
    software_version: str
    applied_config_version: int
    # The store's config version the hub should be on (it catches up when online).
    desired_config_version: int
    rejected_config_version: int
    config_error: str
    backlog: int
    ingested_seq: int
    devices: list[DeviceRead]
    devices_down: int

    @classmethod
    def of(cls, hub: Hub, store_name: str, desired_config_version: int = 0) -> FleetHub:
        """From a row with its devices loaded."""
        devices = [DeviceRead.of(d) for d in hub.devices]
        return cls(
            id=hub.id,
            store_id=hub.store_id,
            store_name=store_name,
            name=hub.name,
            status=hub.status,
            online=hub.online,
            last_seen_at=hub.last_seen_at,
            software_version=hub.software_version,
            applied_config_version=hub.applied_config_version,
            desired_config_version=desired_config_version,
            rejected_config_version=hub.rejected_config_version,
            config_error=hub.config_error,
            backlog=hub.backlog,
            ingested_seq=hub.ingested_seq,
            devices=devices,
            devices_down=sum(1 for d in devices if d.status != "online"),
        )


class FleetSummary(msgspec.Struct):
    """Counts across the tenant's claimed hubs, for the top of the fleet page."""

    hubs: int
    online: int
    offline: int
    pending: int
    devices_down: int
    backlog: int


class FleetView(msgspec.Struct):
    """``GET /api/v1/fleet``."""

    summary: FleetSummary
    hubs: list[FleetHub]


class DeadLetterRead(msgspec.Struct):
    """A message the bridge refused, with the reason; the payload as text where it is text."""

    id: uuid.UUID
    created_at: datetime
    hub_id: uuid.UUID | None
    seq: int | None
    topic: str
    reason: str
    payload: str

    @classmethod
    def of(cls, row: DeadLetter) -> DeadLetterRead:
        """From a row; undecodable bytes are shown with replacement characters."""
        return cls(
            id=row.id,
            created_at=row.created_at,
            hub_id=row.hub_id,
            seq=row.seq,
            topic=row.topic,
            reason=row.reason,
            payload=row.payload[:4096].decode("utf-8", errors="replace"),
        )
