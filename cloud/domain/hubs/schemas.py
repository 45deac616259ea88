"""Wire types of the hubs context: hubs, their claim, and the devices they report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from cloud.db.models import Device, Hub

DeviceKind = Literal[
    "printer", "cash_drawer", "fiscal_printer", "scale", "payment_terminal", "line_display", "scanner"
]
DeviceStatus = Literal["online", "offline", "error"]


class HubCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A hub to add to a store."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class HubRead(msgspec.Struct):
    """A hub as the API shows it: provisioning state and the presence the hub reports."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    name: str
    status: str
    broker_username: str | None
    claim_code_expires_at: datetime | None
    claimed_at: datetime | None
    revoked_at: datetime | None
    online: bool
    last_seen_at: datetime | None
    software_version: str
    applied_config_version: int
    rejected_config_version: int
    config_error: str
    backlog: int
    created_at: datetime

    @classmethod
    def of(cls, hub: Hub) -> HubRead:
        """From a row."""
        return cls(
            id=hub.id,
            tenant_id=hub.tenant_id,
            store_id=hub.store_id,
            name=hub.name,
            status=hub.status,
            broker_username=hub.broker_username,
            claim_code_expires_at=hub.claim_code_expires_at if hub.claimed_at is None else None,
            claimed_at=hub.claimed_at,
            revoked_at=hub.revoked_at,
            online=hub.online,
            last_seen_at=hub.last_seen_at,
            software_version=hub.software_version,
            applied_config_version=hub.applied_config_version,
            rejected_config_version=hub.rejected_config_version,
            config_error=hub.config_error,
            backlog=hub.backlog,
            created_at=hub.created_at,
        )


class ClaimCodeIssued(msgspec.Struct):
    """A hub and its one-time claim code: shown once, only its hash is kept."""

    hub: HubRead
    claim_code: str
    claim_code_expires_at: datetime


class ClaimRequest(msgspec.Struct, forbid_unknown_fields=True):
    """What ``smartpos-hub claim CODE`` sends."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ClaimResponse(msgspec.Struct):
    """The hub's identity and broker credentials; the password is shown this once.

    ``broker_url`` is ``mqtt://host:port`` or ``mqtts://host:port``; for ``mqtts``,
    ``ca_certificate`` holds the PEM of the CA the hub must verify the broker against.
    The hub's MQTT client id is its ``hub_id``; its topics live under ``topic_prefix``.
    """

    hub_id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    hub_name: str
    broker_url: str
    broker_username: str
    broker_password: str
    ca_certificate: str | None
    topic_prefix: str


class DeviceReport(msgspec.Struct, forbid_unknown_fields=True):
    """One device as a hub reports it in its state."""

    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: DeviceKind
    status: DeviceStatus
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class DeviceRead(msgspec.Struct):
    """A device as last reported by its hub."""

    id: uuid.UUID
    hub_id: uuid.UUID
    device_id: str
    kind: str
    status: str
    details: dict[str, Any]
    last_seen_at: datetime | None

    @classmethod
    def of(cls, device: Device) -> DeviceRead:
        """From a row."""
        return cls(
            id=device.id,
            hub_id=device.hub_id,
            device_id=device.device_id,
            kind=device.kind,
            status=device.status,
            details=dict(device.details),
            last_seen_at=device.last_seen_at,
        )
