"""Wire types of the stores context."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloud.db.models import Store

PosMode = Literal["retail", "restaurant", "both"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]
Locale = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35, description="BCP 47 tag")
]
Timezone = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="IANA zone, e.g. Europe/Berlin")
]
Line = Annotated[str, msgspec.Meta(max_length=200)]


class Address(msgspec.Struct, forbid_unknown_fields=True):
    """A postal address."""

    country: Country
    line1: Line = ""
    line2: Line = ""
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] = ""
    city: Annotated[str, msgspec.Meta(max_length=100)] = ""
    region: Annotated[str, msgspec.Meta(max_length=100)] = ""


class RegionalSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How the store formats and prices: its locale and whether shelf prices include tax."""

    locale: Locale
    prices_include_tax: bool = True


class StoreCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new store of the caller's tenant."""

    name: Name
    address: Address
    pos_mode: PosMode
    currency: Currency
    timezone: Timezone
    regional: RegionalSettings


class StoreUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A partial change: only the fields present are changed."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    pos_mode: PosMode | msgspec.UnsetType = msgspec.UNSET
    currency: Currency | msgspec.UnsetType = msgspec.UNSET
    timezone: Timezone | msgspec.UnsetType = msgspec.UNSET
    regional: RegionalSettings | msgspec.UnsetType = msgspec.UNSET


class StoreRead(msgspec.Struct):
    """A store as the API shows it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    address: Address
    pos_mode: str
    currency: str
    timezone: str
    regional: RegionalSettings
    created_at: datetime

    @classmethod
    def of(cls, store: Store) -> StoreRead:
        """From a row."""
        return cls(
            id=store.id,
            tenant_id=store.tenant_id,
            name=store.name,
            address=Address(
                country=store.country,
                line1=store.address_line1,
                line2=store.address_line2,
                postal_code=store.postal_code,
                city=store.city,
                region=store.region,
            ),
            pos_mode=store.pos_mode,
            currency=store.currency,
            timezone=store.timezone,
            regional=RegionalSettings(locale=store.locale, prices_include_tax=store.prices_include_tax),
            created_at=store.created_at,
        )
