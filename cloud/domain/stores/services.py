"""Stores of a tenant: create, read, change; every lookup is scoped to the tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Store
from cloud.domain.stores.schemas import Address, RegionalSettings, StoreCreate, StoreUpdate
from cloud.errors import DomainError, NotFound


def check_timezone(name: str) -> str:
    """``name`` if it is a known IANA zone, else 400 ``invalid_timezone``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            400, "invalid_timezone", f"unknown time zone {name!r}", {"field": "timezone"}
        ) from None
    return name


def _apply_address(store: Store, address: Address) -> None:
    store.country = address.country
    store.address_line1 = address.line1
    store.address_line2 = address.line2
    store.postal_code = address.postal_code
    store.city = address.city
    store.region = address.region


def _apply_regional(store: Store, regional: RegionalSettings) -> None:
    store.locale = regional.locale
    store.prices_include_tax = regional.prices_include_tax


class StoreService:
    """Stores, scoped to one tenant per call."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, tenant_id: uuid.UUID, data: StoreCreate) -> Store:
        """Add a store to the tenant."""
        store = Store(
            tenant_id=tenant_id,
            name=data.name,
            pos_mode=data.pos_mode,
            currency=data.currency,
            timezone=check_timezone(data.timezone),
        )
        _apply_address(store, data.address)
        _apply_regional(store, data.regional)
        self.session.add(store)
        await self.session.commit()
        return store

    async def list(self, tenant_id: uuid.UUID) -> Sequence[Store]:
        """Every store of the tenant, by name."""
        return (
            await self.session.scalars(
                select(Store).where(Store.tenant_id == tenant_id).order_by(Store.name, Store.id)
            )
        ).all()

    async def get(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> Store:
        """One store of the tenant; another tenant's store is 404."""
        store = await self.session.scalar(
            select(Store).where(Store.id == store_id, Store.tenant_id == tenant_id)
        )
        if store is None:
            raise NotFound("store")
        return store

    async def update(self, tenant_id: uuid.UUID, store_id: uuid.UUID, data: StoreUpdate) -> Store:
        """Change the fields present in ``data``."""
        store = await self.get(tenant_id, store_id)
        if not isinstance(data.name, msgspec.UnsetType):
            store.name = data.name
        if not isinstance(data.address, msgspec.UnsetType):
            _apply_address(store, data.address)
        if not isinstance(data.pos_mode, msgspec.UnsetType):
            store.pos_mode = data.pos_mode
        if not isinstance(data.currency, msgspec.UnsetType):
            store.currency = data.currency
        if not isinstance(data.timezone, msgspec.UnsetType):
            store.timezone = check_timezone(data.timezone)
        if not isinstance(data.regional, msgspec.UnsetType):
            _apply_regional(store, data.regional)
        await self.session.commit()
        return store
