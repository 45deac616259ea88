"""``/api/v1/stores``: the caller's stores."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.services import Caller
from cloud.domain.stores.schemas import StoreCreate, StoreRead, StoreUpdate
from cloud.domain.stores.services import StoreService


class StoreController(Controller):
    """Stores of the caller's tenant."""

    path = "/api/v1/stores"
    tags = ["stores"]  # noqa: RUF012

    @get("/")
    async def list_stores(self, caller: Caller, db_session: AsyncSession) -> list[StoreRead]:
        """Every store of the caller's tenant."""
        return [StoreRead.of(s) for s in await StoreService(db_session).list(caller.tenant_id)]

    @post("/")
    async def create_store(self, data: StoreCreate, caller: Caller, db_session: AsyncSession) -> StoreRead:
        """Add a store (owners and admins)."""
        caller.require_admin()
        return StoreRead.of(await StoreService(db_session).create(caller.tenant_id, data))

    @get("/{store_id:uuid}")
    async def get_store(self, store_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> StoreRead:
        """One store (404 if it is not the caller's tenant's)."""
        return StoreRead.of(await StoreService(db_session).get(caller.tenant_id, store_id))

    @patch("/{store_id:uuid}")
    async def update_store(
        self, store_id: uuid.UUID, data: StoreUpdate, caller: Caller, db_session: AsyncSession
    ) -> StoreRead:
        """Change a store (owners and admins)."""
        caller.require_admin()
        return StoreRead.of(await StoreService(db_session).update(caller.tenant_id, store_id, data))
