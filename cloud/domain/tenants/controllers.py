"""``/api/v1/tenant``: the caller's own business."""

from __future__ import annotations

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.services import Caller
from cloud.domain.tenants.schemas import TenantRead
from cloud.domain.tenants.services import TenantService


class TenantController(Controller):
    """The caller's tenant; there is no way to see another."""

    path = "/api/v1/tenant"
    tags = ["tenants"]  # noqa: RUF012

    @get("/")
    async def get_tenant(self, caller: Caller, db_session: AsyncSession) -> TenantRead:
        """The caller's tenant."""
        return TenantRead.of(await TenantService(db_session).get(caller.tenant_id))
