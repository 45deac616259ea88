"""``/api/v1/api-keys``: keys for integrations (owners and admins with a login; never a key)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.apikeys.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyRead
from cloud.domain.apikeys.services import ApiKeyService
from cloud.domain.auth.scopes import SCOPES
from cloud.domain.auth.services import Caller


class ApiKeyController(Controller):
    """API keys of the caller's tenant."""

    path = "/api/v1/api-keys"
    tags = ["api-keys"]  # noqa: RUF012

    @get("/scopes")
    async def scopes(self, caller: Caller) -> list[str]:
        """The scopes a key can be given."""
        caller.require_admin()
        return sorted(SCOPES)

    @get("/")
    async def list_keys(self, caller: Caller, db_session: AsyncSession) -> list[ApiKeyRead]:
        """The tenant's keys with their prefixes and scopes (never the keys)."""
        caller.require_admin()
        return [ApiKeyRead.of(k) for k in await ApiKeyService(db_session).list(caller.tenant_id)]

    @post("/")
    async def create_key(self, data: ApiKeyCreate, caller: Caller, db_session: AsyncSession) -> ApiKeyIssued:
        """Create a key; the answer holds the key, shown only now (use it as
        ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``)."""
        caller.require_admin()
        issued = await ApiKeyService(db_session).create(caller, data.name, data.scopes)
        return ApiKeyIssued(api_key=ApiKeyRead.of(issued.row), key=issued.key)

    @get("/{key_id:uuid}")
    async def get_key(self, key_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> ApiKeyRead:
        """One key (404 if it is not the tenant's)."""
        caller.require_admin()
        return ApiKeyRead.of(await ApiKeyService(db_session).get(caller.tenant_id, key_id))

    @delete("/{key_id:uuid}")
    async def revoke_key(self, key_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> None:
        """Revoke a key (it stays listed with ``revoked_at``)."""
        caller.require_admin()
        await ApiKeyService(db_session).revoke(caller.tenant_id, key_id)
