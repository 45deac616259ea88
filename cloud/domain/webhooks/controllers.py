"""``/api/v1/webhooks``: a tenant's outgoing webhooks (owners and admins; never API keys)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.services import Caller
from cloud.domain.webhooks.catalog import EVENT_TYPES
from cloud.domain.webhooks.schemas import (
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)
from cloud.domain.webhooks.sealing import secret_box
from cloud.domain.webhooks.services import WebhookService
from cloud.settings import Settings


def _wake_worker(state: State) -> None:
    worker = getattr(state, "webhooks", None)
    if worker is not None:
        worker.wake()


class WebhookController(Controller):
    """Endpoints of the caller's tenant, their secrets and delivery logs."""

    path = "/api/v1/webhooks"
    tags = ["webhooks"]  # noqa: RUF012

    @get("/event-types")
    async def event_types(self, caller: Caller) -> list[str]:
        """The event types an endpoint can subscribe to."""
        caller.require_admin()
        return sorted(EVENT_TYPES)

    @get("/")
    async def list_webhooks(self, caller: Caller, db_session: AsyncSession) -> list[WebhookRead]:
        """The tenant's endpoints (without secrets)."""
        caller.require_admin()
        return [WebhookRead.of(e) for e in await WebhookService(db_session).list(caller.tenant_id)]

    @post("/")
    async def create_webhook(
        self, data: WebhookCreate, caller: Caller, db_session: AsyncSession, settings: Settings
    ) -> WebhookSecret:
        """Register a URL for event types; the answer holds the signing secret, shown only now.

        422 ``invalid_url`` unless the URL is an absolute http(s) URL.
        """
        caller.require_admin()
        service = WebhookService(db_session, secret_box(settings))
        endpoint, secret = await service.create(caller.tenant_id, data)
        return WebhookSecret(webhook=WebhookRead.of(endpoint), secret=secret)

    @get("/{webhook_id:uuid}")
    async def get_webhook(
        self, webhook_id: uuid.UUID, caller: Caller, db_session: AsyncSession
    ) -> WebhookRead:
        """One endpoint (404 if it is not the tenant's)."""
        caller.require_admin()
        return WebhookRead.of(await WebhookService(db_session).get(caller.tenant_id, webhook_id))

    @patch("/{webhook_id:uuid}")
    async def update_webhook(
        self,
        webhook_id: uuid.UUID,
        data: WebhookUpdate,
        caller: Caller,
        db_session: AsyncSession,
        state: State,
    ) -> WebhookRead:
        """Change the URL, event types, description or active flag."""
        caller.require_admin()
        endpoint = await WebhookService(db_session).update(caller.tenant_id, webhook_id, data)
        _wake_worker(state)
        return WebhookRead.of(endpoint)

    @delete("/{webhook_id:uuid}")
    async def delete_webhook(self, webhook_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> None:
        """Remove an endpoint and its delivery log."""
        caller.require_admin()
        await WebhookService(db_session).delete(caller.tenant_id, webhook_id)

    @post("/{webhook_id:uuid}/rotate-secret", status_code=200)
    async def rotate_secret(
        self, webhook_id: uuid.UUID, caller: Caller, db_session: AsyncSession, settings: Settings
    ) -> WebhookSecret:
        """Replace the signing secret; the new one is in the answer, shown only now."""
        caller.require_admin()
        service = WebhookService(db_session, secret_box(settings))
        endpoint, secret = await service.rotate_secret(caller.tenant_id, webhook_id)
        return WebhookSecret(webhook=WebhookRead.of(endpoint), secret=secret)

    @post("/{webhook_id:uuid}/enable", status_code=200)
    async def enable_webhook(
        self, webhook_id: uuid.UUID, caller: Caller, db_session: AsyncSession, state: State
    ) -> WebhookRead:
        """Re-enable an endpoint (e.g. one disabled after failing): its pending deliveries go now."""
        caller.require_admin()
        endpoint = await WebhookService(db_session).enable(caller.tenant_id, webhook_id)
        _wake_worker(state)
        return WebhookRead.of(endpoint)

    @get("/{webhook_id:uuid}/deliveries")
    async def deliveries(
        self,
        webhook_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[DeliveryRead]:
        """The delivery log, newest first: event id and type, attempts, last status code and
        error, next attempt, delivery time (``?status=pending|delivered|failed``)."""
        caller.require_admin()
        rows = await WebhookService(db_session).deliveries(caller.tenant_id, webhook_id, status, limit)
        return [DeliveryRead.of(d) for d in rows]

    @post("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver", status_code=200)
    async def redeliver(
        self,
        webhook_id: uuid.UUID,
        delivery_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        state: State,
    ) -> DeliveryRead:
        """Send one delivery again now, with the same event id (e.g. one that gave up)."""
        caller.require_admin()
        delivery = await WebhookService(db_session).redeliver(caller.tenant_id, webhook_id, delivery_id)
        _wake_worker(state)
        return DeliveryRead.of(delivery)
