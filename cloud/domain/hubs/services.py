"""Hubs: provisioning with one-time claim codes, broker credentials, revocation, devices.

An admin adds a hub to a store and gets a claim code (only its SHA-256 is stored, with an
expiry). The box exchanges the code once for its identity and broker credentials; the
broker password is stored only as a Mosquitto hash. Revoking a hub withdraws its
credentials. Whenever credentials change, :meth:`HubService.broker_credentials_changed` runs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models import Device, Hub
from cloud.domain.hubs.schemas import DeviceReport
from cloud.domain.stores.services import StoreService
from cloud.errors import DomainError, NotFound
from cloud.security import digest, mosquitto_hash, new_broker_password, new_claim_code, normalize_claim_code
from cloud.settings import Settings
from protocols.sync.topics import HubTopics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IssuedClaimCode:
    """A claim code just issued: the only time its plaintext exists."""

    hub: Hub
    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """The outcome of a claim: the hub and its broker password in clear, shown once."""

    hub: Hub
    broker_password: str

    @property
    def topic_prefix(self) -> str:
        """The hub's own topic subtree."""
        return HubTopics(str(self.hub.tenant_id), str(self.hub.store_id), str(self.hub.id)).prefix


class HubService:
    """Hubs of a tenant (scoped per call), plus the unauthenticated claim."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def broker_credentials_changed(self, hub: Hub) -> None:
        """Hook run after ``hub``'s broker credentials were issued, replaced or withdrawn.

        Called once the change is committed: after a claim (new username and password hash)
        and after a revocation (``broker_password_hash`` is None). The broker bridge overrides
        it to rewrite Mosquitto's password and ACL files from the ``hubs`` table (each hub
        confined to its own topic subtree) and reload the broker, so a revoked hub is cut
        off. This base implementation only logs.
        """
        log.info(
            "broker credentials changed for hub %s (%s)",
            hub.id,
            "revoked" if hub.broker_password_hash is None else "issued",
        )

    async def create(self, tenant_id: uuid.UUID, store_id: uuid.UUID, name: str) -> IssuedClaimCode:
        """Add a hub to one of the tenant's stores and issue its first claim code."""
        store = await StoreService(self.session).get(tenant_id, store_id)
        hub = Hub(tenant_id=tenant_id, store_id=store.id, name=name, status="pending")
        self.session.add(hub)
        return await self._issue_code(hub)

    async def reissue_claim_code(self, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> IssuedClaimCode:
        """A new claim code for a hub (a replaced box); the old code stops working.

        An active hub keeps its credentials until the new code is claimed, which replaces them.
        """
        hub = await self.get(tenant_id, hub_id)
        if hub.status == "revoked":
            raise DomainError(409, "hub_revoked", "a revoked hub cannot be claimed again")
        return await self._issue_code(hub)

    async def _issue_code(self, hub: Hub) -> IssuedClaimCode:
        code = new_claim_code()
        expires_at = utcnow() + timedelta(seconds=self.settings.claim_code_ttl_s)
        hub.claim_code_hash = digest(code)
        hub.claim_code_expires_at = expires_at
        hub.claimed_at = None
        await self.session.commit()
        return IssuedClaimCode(hub=hub, code=code, expires_at=expires_at)

    async def claim(self, code: str) -> Claimed:
        """Exchange a claim code for the hub's identity and fresh broker credentials.

        404 ``claim_code_invalid`` for an unknown code, 409 ``claim_code_used`` once it has
        been claimed, 410 ``claim_code_expired`` past its expiry. The code is marked used in
        the same statement that checks it, so two boxes racing with one code cannot both win.
        """
        code_hash = digest(normalize_claim_code(code))
        hub = await self.session.scalar(select(Hub).where(Hub.claim_code_hash == code_hash))
        if hub is None or hub.status == "revoked":
            raise DomainError(404, "claim_code_invalid", "unknown claim code")
        if hub.claimed_at is not None:
            raise DomainError(409, "claim_code_used", "this claim code was already used")
        now = utcnow()
        if hub.claim_code_expires_at is None or hub.claim_code_expires_at <= now:
            raise DomainError(410, "claim_code_expired", "this claim code has expired; ask for a new one")
        password = new_broker_password()
        username = f"hub-{hub.id}"
        result = await self.session.execute(
            update(Hub)
            .where(Hub.id == hub.id, Hub.claim_code_hash == code_hash, Hub.claimed_at.is_(None))
            .values(
                claimed_at=now,
                status="active",
                broker_username=username,
                broker_password_hash=mosquitto_hash(password),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.rollback()
            raise DomainError(409, "claim_code_used", "this claim code was already used")
        await self.session.commit()
        await self.session.refresh(hub)
        await self.broker_credentials_changed(hub)
        return Claimed(hub=hub, broker_password=password)

    async def revoke(self, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub:
        """Mark a hub revoked and withdraw its claim code and broker credentials (idempotent)."""
        hub = await self.get(tenant_id, hub_id)
        if hub.status == "revoked":
            return hub
        hub.status = "revoked"
        hub.revoked_at = utcnow()
        hub.claim_code_hash = None
        hub.claim_code_expires_at = None
        hub.broker_password_hash = None
        hub.online = False
        await self.session.commit()
        await self.broker_credentials_changed(hub)
        return hub

    async def list(self, tenant_id: uuid.UUID, store_id: uuid.UUID | None = None) -> Sequence[Hub]:
        """The tenant's hubs, optionally of one store."""
        query = select(Hub).where(Hub.tenant_id == tenant_id)
        if store_id is not None:
            query = query.where(Hub.store_id == store_id)
        return (await self.session.scalars(query.order_by(Hub.name, Hub.id))).all()

    async def get(self, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub:
        """One hub of the tenant; another tenant's hub is 404."""
        hub = await self.session.scalar(select(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id))
        if hub is None:
            raise NotFound("hub")
        return hub

    async def devices(self, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Sequence[Device]:
        """The devices a hub of the tenant last reported."""
        hub = await self.get(tenant_id, hub_id)
        return (
            await self.session.scalars(
                select(Device).where(Device.hub_id == hub.id).order_by(Device.device_id)
            )
        ).all()

    async def record_devices(
        self, hub_id: uuid.UUID, reports: Sequence[DeviceReport], at: datetime | None = None
    ) -> None:
        """Take a hub's reported device list as the truth: upsert those, mark the rest offline.

        Called by the sync bridge with the devices of a hub's ``up/state``; the hub id comes
        from the authenticated topic, not from the payload.
        """
        seen_at = at or utcnow()
        existing = {
            d.device_id: d
            for d in (await self.session.scalars(select(Device).where(Device.hub_id == hub_id))).all()
        }
        for report in reports:
            device = existing.pop(report.device_id, None)
            if device is None:
                device = Device(hub_id=hub_id, device_id=report.device_id)
                self.session.add(device)
            device.kind = report.kind
            device.status = report.status
            device.details = dict(report.details)
            device.last_seen_at = seen_at
        for gone in existing.values():
            gone.status = "offline"
        await self.session.commit()
