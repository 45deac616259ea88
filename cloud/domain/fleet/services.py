"""Reads for the fleet view, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cloud.db.models import DeadLetter, Hub, Store
from cloud.db.models_config import TENANT_SCOPE, ConfigRecord
from cloud.domain.fleet.schemas import FleetHub, FleetSummary, FleetView


class FleetService:
    """The tenant's hubs with presence and devices, and its dead letters."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def view(self, tenant_id: uuid.UUID, store_id: uuid.UUID | None = None) -> FleetView:
        """Every hub of the tenant (revoked ones left out), offline ones first."""
        query = (
            select(Hub, Store.name)
            .join(Store, Store.id == Hub.store_id)
            .where(Hub.tenant_id == tenant_id, Hub.status != "revoked")
            .options(selectinload(Hub.devices))
        )
        if store_id is not None:
            query = query.where(Hub.store_id == store_id)
        rows = (await self.session.execute(query)).all()
        desired = await self._config_versions(tenant_id)
        hubs = [FleetHub.of(hub, name, desired(hub.store_id)) for hub, name in rows]
        # What needs attention comes first: claimed hubs that are offline, then by name.
        hubs.sort(key=lambda h: (h.status != "active", h.online, h.store_name, h.name))
        active = [h for h in hubs if h.status == "active"]
        summary = FleetSummary(
            hubs=len(active),
            online=sum(1 for h in active if h.online),
            offline=sum(1 for h in active if not h.online),
            pending=sum(1 for h in hubs if h.status == "pending"),
            devices_down=sum(h.devices_down for h in active),
            backlog=sum(h.backlog for h in active),
        )
        return FleetView(summary=summary, hubs=hubs)

    async def _config_versions(self, tenant_id: uuid.UUID) -> Callable[[uuid.UUID], int]:
        """Each store's config version: the highest revision of the tenant's items and its overrides."""
        query = (
            select(ConfigRecord.scope, func.max(ConfigRecord.revision))
            .where(ConfigRecord.tenant_id == tenant_id)
            .group_by(ConfigRecord.scope)
        )
        highest = {scope: int(revision or 0) for scope, revision in await self.session.execute(query)}
        tenant_wide = highest.get(TENANT_SCOPE, 0)
        return lambda store_id: max(tenant_wide, highest.get(str(store_id), 0))

    async def dead_letters(
        self, tenant_id: uuid.UUID, hub_id: uuid.UUID | None = None, limit: int = 100
    ) -> Sequence[DeadLetter]:
        """The tenant's newest dead letters (those the bridge could tie to one of its hubs)."""
        query = select(DeadLetter).where(DeadLetter.tenant_id == tenant_id)
        if hub_id is not None:
            query = query.where(DeadLetter.hub_id == hub_id)
        query = query.order_by(DeadLetter.created_at.desc(), DeadLetter.id).limit(limit)
        return (await self.session.scalars(query)).all()
