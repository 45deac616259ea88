"""Wire types of the tenants context."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from cloud.db.models import Tenant


class TenantRead(msgspec.Struct):
    """A business."""

    id: uuid.UUID
    name: str
    created_at: datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRead:
        """From a row."""
        return cls(id=tenant.id, name=tenant.name, created_at=tenant.created_at)
