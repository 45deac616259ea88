"""The store's settings: receipt header and footer, currency, rounding, barcodes, discount tiers;
and the store options the cloud manages (shift rules, loyalty, fiscal, modules).

Authored through the hub's API or pushed by the cloud (the type lives in ``protocols.sync``). Stored as one JSON document with a
version number, so a change is atomic and a receipt can name the settings it was made under.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from hub.db.database import Database
from hub.domain import audit, cloud_managed
from hub.domain.clock import now_iso
from hub.domain.errors import Invalid
from protocols.sync.config import SINGLETON_KEY, StoreOptions
from protocols.sync.store_settings import (
    DiscountPreset,
    DiscountTier,
    InStoreBarcodeLayout,
    StoreSettings,
)

__all__ = [
    "DiscountPreset",
    "DiscountTier",
    "InStoreBarcodeLayout",
    "StoreOptions",
    "StoreSettings",
    "StoreSettingsService",
    "VersionedSettings",
]


class VersionedSettings(msgspec.Struct, frozen=True):
    version: int
    settings: StoreSettings
    updated_at: str | None = None


class StoreSettingsService:
    """Reads and replaces the settings document; readers get a cached copy."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cached: VersionedSettings | None = None
        self._options: StoreOptions | None = None

    def invalidate(self) -> None:
        """Forget the cached copies (the cloud config wrote the tables directly)."""
        self._cached = None
        self._options = None

    async def options(self) -> StoreOptions:
        """The store options the cloud pushed (``store_options``), or their defaults, which are
        the hub's own behaviour, for a store the cloud does not manage."""
        if self._options is None:
            row = await self._db.fetchone(
                "SELECT body FROM config_documents WHERE section = 'store_options' AND key = ? AND active = 1",
                (SINGLETON_KEY,),
            )
            self._options = (
                StoreOptions() if row is None else msgspec.json.decode(row["body"], type=StoreOptions)
            )
        return self._options

    async def get(self) -> VersionedSettings:
        if self._cached is None:
            row = await self._db.fetchone("SELECT version, body, updated_at FROM store_settings WHERE id = 1")
            if row is None:
                self._cached = VersionedSettings(version=0, settings=StoreSettings())
            else:
                body = msgspec.json.decode(row["body"], type=StoreSettings)
                self._cached = VersionedSettings(row["version"], body, row["updated_at"])
        return self._cached

    async def replace(self, settings: StoreSettings, *, actor: str) -> VersionedSettings:
        await cloud_managed.ensure_local(self._db, cloud_managed.STORE_SETTINGS)
        try:
            ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid("invalid_timezone", f"unknown time zone {settings.timezone!r}") from None
        at = now_iso()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO store_settings (id, version, body, updated_at, updated_by) "
                "VALUES (1, 1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = version + 1, "
                "body = excluded.body, updated_at = excluded.updated_at, updated_by = excluded.updated_by "
                "RETURNING version",
                (msgspec.json.encode(settings).decode(), at, actor),
            )
            assert row is not None
            await audit.record(tx, actor=actor, action="settings.updated", target="store", details={})
        self._cached = VersionedSettings(row["version"], settings, at)
        return self._cached
