"""``config.published``: an authoring write changed the config version of one or more stores.

Called by the config writes (item put/create/delete, CSV import) in their transaction, after
the rows are flushed, so the event is committed with the change and only with it. A write that
takes no revision (the same body again) calls nothing.

One event per write, listing every store whose version it changed with that store's new
version: a tenant-wide item reaches every store of the tenant, a store's override only that
store. (One event per store would multiply the deliveries of each catalog edit by the number of
stores; versions may differ per store, e.g. after deleting a product with overrides.)
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Store
from cloud.db.models_config import TENANT_SCOPE
from cloud.domain.config.repository import versions
from cloud.domain.webhooks.emit import emit, subscribed

EVENT = "config.published"


async def config_published(session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID | None) -> None:
    """Queue ``config.published`` for a write to the tenant's items (``store_id`` None) or to a
    store's overrides; does nothing when no endpoint of the tenant takes the event.

    Data: ``{"scope": "tenant" | "store", "stores": [{"store_id", "version"}, ...]}``, where a
    store's version is what ``GET /api/v1/stores/{id}/config`` now answers.
    """
    if (tenant_id, EVENT) not in await subscribed(session, {tenant_id}):
        return
    if store_id is None:
        query = select(Store.id).where(Store.tenant_id == tenant_id).order_by(Store.created_at, Store.id)
        stores = list((await session.scalars(query)).all())
    else:
        stores = [store_id]
    if not stores:
        return
    by_scope = await versions(session, [tenant_id])
    base = by_scope.get((tenant_id, TENANT_SCOPE), 0)
    data = {
        "scope": "tenant" if store_id is None else "store",
        "stores": [
            {"store_id": str(store), "version": max(base, by_scope.get((tenant_id, str(store)), 0))}
            for store in stores
        ],
    }
    await emit(session, tenant_id, EVENT, data)
