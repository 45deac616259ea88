"""Tenants (businesses). They are created by an operator (``smartpos-cloud create-tenant``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Tenant
from cloud.errors import DomainError, NotFound


class TenantService:
    """Create and read tenants."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str) -> Tenant:
        """A new tenant named ``name`` (not blank)."""
        name = name.strip()
        if not name or len(name) > 200:
            raise DomainError(400, "invalid_name", "a tenant name has 1 to 200 characters")
        tenant = Tenant(name=name)
        self.session.add(tenant)
        await self.session.commit()
        return tenant

    async def get(self, tenant_id: uuid.UUID) -> Tenant:
        """One tenant by id."""
        tenant = await self.session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound("tenant")
        return tenant

    async def find(self, ref: str) -> Tenant:
        """A tenant by id or by exact name (for the CLI); a name held by several is refused."""
        try:
            return await self.get(uuid.UUID(ref))
        except ValueError:
            pass
        found = (await self.session.scalars(select(Tenant).where(Tenant.name == ref))).all()
        if not found:
            raise NotFound("tenant")
        if len(found) > 1:
            raise DomainError(409, "ambiguous_tenant", f"{len(found)} tenants are named {ref!r}; use the id")
        return found[0]
