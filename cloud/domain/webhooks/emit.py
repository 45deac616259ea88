"""Queueing a webhook event in the caller's transaction (the delivery worker sends it later).

Each event gets one ``webhook_deliveries`` row per active endpoint of its tenant subscribed to
its type, holding the exact JSON body ``{id, type, created_at, tenant_id, data}`` that will be
signed and posted. The rows are written in the caller's session and committed with the caller's
change, so an event exists exactly when its cause does (nothing lost), and
``(endpoint_id, event_id)`` is unique, so an event replayed with the same id is queued once
(nothing twice). Nothing here commits or does network I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models_integrations import WebhookDelivery, WebhookEndpoint
from cloud.domain.webhooks.catalog import EVENT_TYPES


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event to queue: ``event_id`` is what receivers dedupe on (stable across retries)."""

    tenant_id: uuid.UUID
    type: str
    data: dict[str, Any]
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)

    def body(self) -> str:
        """The JSON document posted to every endpoint."""
        document = {
            "id": str(self.event_id),
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "tenant_id": str(self.tenant_id),
            "data": self.data,
        }
        return msgspec.json.encode(document).decode()


async def emit(session: AsyncSession, tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """Queue ``event_type`` with ``data`` for every active endpoint of the tenant subscribed to it.

    Runs in the caller's transaction, so the event exists exactly when the change that caused
    it is committed. ``data`` must be JSON-encodable (msgspec: UUIDs and datetimes are fine);
    an event type outside the catalogue is a programming error (ValueError).
    """
    await queue_events(session, [WebhookEvent(tenant_id=tenant_id, type=event_type, data=data)])


async def _endpoints(session: AsyncSession, tenants: set[uuid.UUID]) -> list[Any]:
    """The active endpoints of ``tenants``: id, tenant and the event types they take."""
    query = select(WebhookEndpoint.id, WebhookEndpoint.tenant_id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.tenant_id.in_(tenants), WebhookEndpoint.active.is_(True)
    )
    return list((await session.execute(query)).all())


async def subscribed(session: AsyncSession, tenants: set[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
    """Which ``(tenant, event type)`` pairs some active endpoint takes: a caller with many
    candidate events builds only those (most tenants subscribe to little or nothing)."""
    if not tenants:
        return set()
    return {
        (row.tenant_id, kind) for row in await _endpoints(session, tenants) for kind in row.event_types or ()
    }


async def queue_events(session: AsyncSession, events: Sequence[WebhookEvent]) -> int:
    """Queue ``events`` in ``session``'s transaction; returns how many delivery rows were new."""
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event.type!r}")
    if not events:
        return 0
    endpoints = await _endpoints(session, {e.tenant_id for e in events})
    if not endpoints:
        return 0
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event in events:
        body: str | None = None
        for endpoint in endpoints:
            if endpoint.tenant_id != event.tenant_id or event.type not in (endpoint.event_types or ()):
                continue
            body = body if body is not None else event.body()
            rows.append({
                "id": uuid.uuid4(), "created_at": now, "tenant_id": event.tenant_id,
                "endpoint_id": endpoint.id, "event_id": event.event_id, "event_type": event.type,
                "body": body, "status": "pending", "attempts": 0, "next_attempt_at": now,
            })  # fmt: skip
    if not rows:
        return 0
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(WebhookDelivery).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_id"]
    )
    result = await session.execute(statement.returning(WebhookDelivery.id), rows)
    return len(result.all())
