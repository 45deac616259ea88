"""Wire types of the webhooks context."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloud.db.models_integrations import WebhookDelivery, WebhookEndpoint
from cloud.domain.webhooks.catalog import EventType

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
EventTypes = Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=50)]
Description = Annotated[str, msgspec.Meta(max_length=200)]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new endpoint: an http(s) URL and the event types it receives."""

    url: Url
    event_types: EventTypes
    description: Description = ""
    active: bool = True


class WebhookUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to an endpoint; absent fields stay as they are (``active: true`` = enable)."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None


class WebhookRead(msgspec.Struct):
    """An endpoint as the API shows it: never its secret."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookRead:
        """From a row."""
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types),
            active=endpoint.active,
            disabled_reason=endpoint.disabled_reason,
            disabled_at=endpoint.disabled_at,
            consecutive_failures=endpoint.consecutive_failures,
            created_at=endpoint.created_at,
        )


class WebhookSecret(msgspec.Struct):
    """An endpoint with its signing secret: answered once, at creation and at rotation."""

    webhook: WebhookRead
    secret: str


class DeliveryRead(msgspec.Struct):
    """One line of the delivery log."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryRead:
        """From a row (``next_attempt_at`` only while the delivery is pending)."""
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            last_attempt_at=delivery.last_attempt_at,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
        )
