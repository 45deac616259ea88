"""``/api/v1/fleet`` and ``/api/v1/dead-letters``."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.scopes import requires_scope
from cloud.domain.auth.services import Caller
from cloud.domain.fleet.schemas import DeadLetterRead, FleetView
from cloud.domain.fleet.services import FleetService


class FleetController(Controller):
    """The fleet view of the caller's tenant."""

    path = "/api/v1"
    tags = ["fleet"]  # noqa: RUF012

    @get("/fleet", guards=[requires_scope("fleet:read")])
    async def fleet(
        self, caller: Caller, db_session: AsyncSession, store_id: uuid.UUID | None = None
    ) -> FleetView:
        """Hubs with online/offline, last seen, versions, backlog and devices (``?store_id=``)."""
        return await FleetService(db_session).view(caller.tenant_id, store_id)

    @get("/dead-letters")
    async def dead_letters(
        self,
        caller: Caller,
        db_session: AsyncSession,
        hub_id: uuid.UUID | None = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterRead]:
        """Messages from the tenant's hubs the cloud could not take, newest first (admins)."""
        caller.require_admin()
        rows = await FleetService(db_session).dead_letters(caller.tenant_id, hub_id, limit)
        return [DeadLetterRead.of(r) for r in rows]
