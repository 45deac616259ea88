"""Managing a tenant's webhook endpoints and reading their delivery log.

Every query filters on the caller's tenant: another tenant's endpoint is 404. Signing secrets
are stored sealed (:mod:`cloud.domain.webhooks.sealing`); creation and rotation answer the
plain secret, the only time it leaves the cloud.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models_integrations import WebhookDelivery, WebhookEndpoint
from cloud.domain.webhooks.schemas import WebhookCreate, WebhookUpdate
from cloud.domain.webhooks.sealing import seal_secret
from cloud.domain.webhooks.signing import new_secret
from cloud.errors import DomainError, NotFound
from cloud.security import SecretBox

MAX_ENDPOINTS = 50


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; 422 ``invalid_url`` otherwise."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DomainError(
            422, "invalid_url", "the URL must be an absolute http:// or https:// URL", {"field": "url"}
        )
    if parts.fragment or any(ch.isspace() for ch in text):
        raise DomainError(
            422, "invalid_url", "the URL must not contain a fragment or blanks", {"field": "url"}
        )
    return text


def _unique(types: Sequence[str]) -> list[str]:
    return sorted(set(types))


class WebhookService:
    """CRUD of endpoints, secret rotation, re-enabling, and the delivery log.

    ``secrets`` seals new secrets: creation and rotation need it, the rest does not.
    """

    def __init__(self, session: AsyncSession, secrets: SecretBox | None = None) -> None:
        self.session = session
        self.secrets = secrets

    def _sealed(self, endpoint_id: uuid.UUID, secret: str) -> str:
        if self.secrets is None:
            raise RuntimeError("sealing a webhook secret needs the secret box")
        return seal_secret(self.secrets, endpoint_id, secret)

    async def list(self, tenant_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
        """The tenant's endpoints, oldest first."""
        query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
        return (
            await self.session.scalars(query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))
        ).all()

    async def get(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """One endpoint of the tenant (404 otherwise)."""
        endpoint = await self.session.scalar(
            select(WebhookEndpoint).where(
                WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant_id
            )
        )
        if endpoint is None:
            raise NotFound("webhook")
        return endpoint

    async def create(self, tenant_id: uuid.UUID, data: WebhookCreate) -> tuple[WebhookEndpoint, str]:
        """A new endpoint and its fresh secret in clear (the only time the caller sees it, with
        rotation); the row keeps it sealed."""
        url = check_url(data.url)
        if len(await self.list(tenant_id)) >= MAX_ENDPOINTS:
            raise DomainError(409, "too_many_webhooks", f"a tenant has at most {MAX_ENDPOINTS} webhooks")
        endpoint_id, secret = uuid.uuid4(), new_secret()
        endpoint = WebhookEndpoint(
            id=endpoint_id,
            tenant_id=tenant_id,
            url=url,
            description=data.description,
            event_types=_unique(data.event_types),
            secret=self._sealed(endpoint_id, secret),
            active=data.active,
            consecutive_failures=0,
        )
        self.session.add(endpoint)
        await self.session.commit()
        return endpoint, secret

    async def update(
        self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, data: WebhookUpdate
    ) -> WebhookEndpoint:
        """Change an endpoint; ``active: true`` on a disabled one is :meth:`enable`."""
        endpoint = await self.get(tenant_id, endpoint_id)
        if data.url is not None:
            endpoint.url = check_url(data.url)
        if data.event_types is not None:
            endpoint.event_types = _unique(data.event_types)
        if data.description is not None:
            endpoint.description = data.description
        if data.active is True and not endpoint.active:
            return await self.enable(tenant_id, endpoint_id)
        if data.active is False:
            endpoint.active = False
            endpoint.disabled_reason = "disabled by an admin"
            endpoint.disabled_at = utcnow()
        await self.session.commit()
        return endpoint

    async def delete(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        """Remove an endpoint with its delivery log (pending deliveries are dropped with it)."""
        endpoint = await self.get(tenant_id, endpoint_id)
        await self.session.delete(endpoint)
        await self.session.commit()

    async def rotate_secret(
        self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret, answered in clear; every attempt from now on is signed with it, retries
        included."""
        endpoint = await self.get(tenant_id, endpoint_id)
        secret = new_secret()
        endpoint.secret = self._sealed(endpoint.id, secret)
        await self.session.commit()
        return endpoint, secret

    async def enable(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """Re-enable an endpoint: failure counters reset, its pending deliveries are due now."""
        endpoint = await self.get(tenant_id, endpoint_id)
        now = utcnow()
        endpoint.active = True
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.claim_token.is_(None),
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        return endpoint

    async def deliveries(
        self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, status: str | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """An endpoint's delivery log, newest first (``status`` to filter)."""
        endpoint = await self.get(tenant_id, endpoint_id)
        query = select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.tenant_id == tenant_id
        )
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)
        return (await self.session.scalars(query)).all()

    async def redeliver(
        self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery:
        """Send a delivery again now (one that gave up, or one the receiver wants again).

        Same event id and body; the next attempt is the only one if it has used up its attempts.
        An attempt in flight is left to finish.
        """
        endpoint = await self.get(tenant_id, endpoint_id)
        where = (
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.tenant_id == tenant_id,
        )
        delivery = await self.session.scalar(select(WebhookDelivery).where(*where))
        if delivery is None:
            raise NotFound("delivery")
        await self.session.execute(
            update(WebhookDelivery)
            .where(*where, or_(WebhookDelivery.status != "pending", WebhookDelivery.claim_token.is_(None)))
            .values(status="pending", next_attempt_at=utcnow(), delivered_at=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        await self.session.refresh(delivery)
        return delivery
