"""``/api/v1/hubs`` and ``/api/v1/stores/{id}/hubs``: provisioning and the fleet's hubs."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from litestar import Controller, delete, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.services import Caller
from cloud.domain.hubs.schemas import (
    ClaimCodeIssued,
    ClaimRequest,
    ClaimResponse,
    DeviceRead,
    HubCreate,
    HubRead,
)
from cloud.domain.hubs.services import HubService, IssuedClaimCode
from cloud.settings import Settings


def _issued(issued: IssuedClaimCode) -> ClaimCodeIssued:
    return ClaimCodeIssued(
        hub=HubRead.of(issued.hub), claim_code=issued.code, claim_code_expires_at=issued.expires_at
    )


class HubController(Controller):
    """Hubs of the caller's tenant, and the claim a box makes with its code."""

    path = "/api/v1"
    tags = ["hubs"]  # noqa: RUF012

    @post("/stores/{store_id:uuid}/hubs")
    async def create_hub(
        self,
        store_id: uuid.UUID,
        data: HubCreate,
        caller: Caller,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
    ) -> ClaimCodeIssued:
        """Add a hub to a store; the answer holds its one-time claim code (owners and admins)."""
        caller.require_admin()
        service = hub_service_factory(db_session, settings)
        return _issued(await service.create(caller.tenant_id, store_id, data.name))

    @get("/hubs")
    async def list_hubs(
        self,
        caller: Caller,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
        store_id: uuid.UUID | None = None,
    ) -> list[HubRead]:
        """The caller's hubs, optionally of one store (``?store_id=``)."""
        service = hub_service_factory(db_session, settings)
        return [HubRead.of(h) for h in await service.list(caller.tenant_id, store_id)]

    @get("/hubs/{hub_id:uuid}")
    async def get_hub(
        self,
        hub_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
    ) -> HubRead:
        """One hub (404 if it is not the caller's tenant's)."""
        return HubRead.of(await hub_service_factory(db_session, settings).get(caller.tenant_id, hub_id))

    @get("/hubs/{hub_id:uuid}/devices")
    async def list_devices(
        self,
        hub_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
    ) -> list[DeviceRead]:
        """The devices the hub last reported."""
        service = hub_service_factory(db_session, settings)
        return [DeviceRead.of(d) for d in await service.devices(caller.tenant_id, hub_id)]

    @post("/hubs/{hub_id:uuid}/claim-code")
    async def reissue_claim_code(
        self,
        hub_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
    ) -> ClaimCodeIssued:
        """A new one-time claim code for the hub, e.g. for a replaced box (owners and admins)."""
        caller.require_admin()
        service = hub_service_factory(db_session, settings)
        return _issued(await service.reissue_claim_code(caller.tenant_id, hub_id))

    @delete("/hubs/{hub_id:uuid}", status_code=204)
    async def revoke_hub(
        self,
        hub_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
    ) -> None:
        """Revoke the hub: its credentials are withdrawn and it cannot be claimed again."""
        caller.require_admin()
        await hub_service_factory(db_session, settings).revoke(caller.tenant_id, hub_id)

    @post("/hubs/claim", exclude_from_auth=True, security=[], status_code=200)
    async def claim_hub(
        self,
        data: ClaimRequest,
        db_session: AsyncSession,
        hub_service_factory: type[HubService],
        settings: Settings,
    ) -> ClaimResponse:
        """Exchange a claim code (the secret; no token) for the hub's identity and broker credentials."""
        claimed = await hub_service_factory(db_session, settings).claim(data.code)
        hub = claimed.hub
        assert hub.broker_username is not None
        ca = (
            await asyncio.to_thread(Path(settings.broker_ca_file).read_text)
            if settings.broker_ca_file
            else None
        )
        return ClaimResponse(
            hub_id=hub.id,
            tenant_id=hub.tenant_id,
            store_id=hub.store_id,
            hub_name=hub.name,
            broker_url=settings.hub_broker_url,
            broker_username=hub.broker_username,
            broker_password=claimed.broker_password,
            ca_certificate=ca,
            topic_prefix=claimed.topic_prefix,
        )
