"""Configuration items of the caller's tenant: read, write, delete, per-store overrides.

Every write runs in one transaction that first locks the tenant's revision counter
(:func:`repository.allocate`), checks the body and its references against the items as they
are, stamps the item with the next revision and commits. A write that changes nothing (the
same canonical body) takes no revision. Product writes queue the ``product.updated`` webhook
in the same transaction, and every write that takes revisions ``config.published``. The
controller wakes the bridge after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models import Store
from cloud.db.models_config import ConfigRecord, scope_of
from cloud.domain.auth.services import Caller
from cloud.domain.config import repository
from cloud.domain.config.refs import Snapshot
from cloud.domain.config.schemas import ConfigItemRead, ConfigPage, SectionCounts, StoreConfigRead
from cloud.domain.config.validation import (
    OVERRIDABLE,
    canonical,
    decode,
    decode_employee,
    require_key,
    require_section,
)
from cloud.domain.webhooks import emit as webhooks
from cloud.domain.webhooks.config_events import config_published
from cloud.errors import DomainError, NotFound
from protocols.sync.config import INTEGER_KEYED, SECTIONS


def product_event(key: str, store_id: uuid.UUID | None, revision: int, body: str | None) -> dict[str, Any]:
    """The data of a ``product.updated`` webhook event (``body`` None: deleted)."""
    return {
        "id": key, "store_id": str(store_id) if store_id else None, "revision": revision,
        "deleted": body is None, "product": msgspec.json.decode(body) if body else None,
    }  # fmt: skip


async def product_changed(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    key: str,
    store_id: uuid.UUID | None,
    revision: int,
    body: str | None,
) -> None:
    """Queue ``product.updated`` for a product write, in the writing transaction."""
    await webhooks.emit(session, tenant_id, "product.updated", product_event(key, store_id, revision, body))


class ConfigService:
    """Items of one tenant: managers read, owners and admins write."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller
        self.tenant_id = caller.tenant_id

    async def _store(self, store_id: uuid.UUID | None) -> None:
        if store_id is None:
            return
        found = await self.session.scalar(
            select(Store.id).where(Store.id == store_id, Store.tenant_id == self.tenant_id)
        )
        if found is None:
            raise NotFound("store")

    async def list(
        self, section: str, limit: int, offset: int, store_id: uuid.UUID | None = None
    ) -> ConfigPage:
        """Live items of a section (tenant-wide, or a store's overrides)."""
        require_section(section, store_id)
        await self._store(store_id)
        total, rows = await repository.page(self.session, self.tenant_id, store_id, section, limit, offset)
        return ConfigPage(items=[ConfigItemRead.of(r) for r in rows], total=total, limit=limit, offset=offset)

    async def get(self, section: str, key: str, store_id: uuid.UUID | None = None) -> ConfigItemRead:
        """One live item; a deleted or unknown one is 404."""
        require_section(section, store_id)
        key = require_key(section, key)
        await self._store(store_id)
        row = await repository.get_row(self.session, self.tenant_id, store_id, section, key)
        if row is None or row.deleted:
            raise NotFound(f"{section} item")
        return ConfigItemRead.of(row)

    async def create(self, section: str, raw: bytes) -> ConfigItemRead:
        """A new item with a cloud-assigned integer key (sections of :data:`INTEGER_KEYED`)."""
        require_section(section)
        if section not in INTEGER_KEYED:
            raise DomainError(
                405, "key_required", f"{section} items are named by their key: use PUT", {"section": section}
            )
        body = await decode_employee(raw, None) if section == "employees" else decode(section, raw)
        await repository.allocate(self.session, self.tenant_id)  # lock first: checks see what we commit on
        key = str((await repository.allocate(self.session, self.tenant_id, ids=1)).first_id)
        row, _ = await self._write(section, key, None, body, None)
        return ConfigItemRead.of(row)

    async def put(
        self, section: str, key: str, raw: bytes, store_id: uuid.UUID | None = None
    ) -> tuple[ConfigItemRead, bool]:
        """Create or replace an item; True when it was created."""
        require_section(section, store_id)
        key = require_key(section, key)
        await self._store(store_id)
        existing = await repository.get_row(self.session, self.tenant_id, store_id, section, key)
        if section == "employees":
            old_hash = None
            if existing is not None and existing.body and not existing.deleted:
                old_hash = msgspec.json.decode(existing.body).get("pin_hash")
            body: msgspec.Struct = await decode_employee(raw, old_hash)
        else:
            body = decode(section, raw)
        await repository.allocate(self.session, self.tenant_id)
        if store_id is not None and section == "products":
            base = await repository.get_row(self.session, self.tenant_id, None, section, key)
            if base is None or base.deleted:
                raise NotFound("product")
        min_next_id = int(key) + 1 if section in INTEGER_KEYED else 0
        existing = await repository.get_row(self.session, self.tenant_id, store_id, section, key)
        row, created = await self._write(section, key, store_id, body, existing, min_next_id)
        return ConfigItemRead.of(row), created

    async def _write(
        self,
        section: str,
        key: str,
        store_id: uuid.UUID | None,
        body: msgspec.Struct,
        existing: ConfigRecord | None,
        min_next_id: int = 0,
    ) -> tuple[ConfigRecord, bool]:
        text = canonical(body)
        if existing is not None and not existing.deleted and existing.body == text:
            await self.session.commit()  # nothing changes: no revision; ends the transaction
            return existing, False
        problems = await Snapshot(self.session, self.tenant_id).problems(section, key, body)
        if problems:
            await self.session.rollback()
            raise problems[0].error(section)
        allocation = await repository.allocate(
            self.session, self.tenant_id, revisions=1, min_next_id=min_next_id
        )
        now = utcnow()
        created = existing is None or existing.deleted
        row = existing or ConfigRecord(
            tenant_id=self.tenant_id, store_id=store_id, scope=scope_of(store_id), section=section, key=key
        )
        row.revision, row.deleted, row.body = allocation.last_revision, False, text
        row.updated_at, row.updated_by = now, self.caller.user_id
        if existing is None:
            self.session.add(row)
        await self.session.flush()
        if section == "products":
            await product_changed(self.session, self.tenant_id, key, store_id, row.revision, row.body)
        await config_published(self.session, self.tenant_id, store_id)
        await self.session.commit()
        return row, created

    async def delete(self, section: str, key: str, store_id: uuid.UUID | None = None) -> ConfigItemRead:
        """Delete an item (a tombstone hubs will receive); 409 ``in_use`` while others reference it.

        Deleting a tenant-wide product deletes the stores' overrides of it too; deleting an
        override brings the tenant-wide item back for that store.
        """
        require_section(section, store_id)
        key = require_key(section, key)
        await self._store(store_id)
        await repository.allocate(self.session, self.tenant_id)
        row = await repository.get_row(self.session, self.tenant_id, store_id, section, key)
        if row is None or row.deleted:
            await self.session.rollback()
            raise NotFound(f"{section} item")
        if store_id is None:
            users = await Snapshot(self.session, self.tenant_id).users_of(section, key)
            if users:
                await self.session.rollback()
                first = users[0]
                raise DomainError(409, "in_use",
                                  f"{section} {key} is used by {first['section']} {first['key']} ({first['field']})",
                                  {"section": section, "field": first["field"], "referenced_by": users[:50]})  # fmt: skip
        rows = [row]
        if store_id is None and section in OVERRIDABLE:
            rows += await self._overrides(section, key)
        allocation = await repository.allocate(self.session, self.tenant_id, revisions=len(rows))
        now = utcnow()
        for revision, item in enumerate(rows, start=allocation.first_revision):
            item.revision, item.deleted, item.body = revision, True, None
            item.updated_at, item.updated_by = now, self.caller.user_id
        await self.session.flush()
        if section == "products":
            for item in rows:
                await product_changed(self.session, self.tenant_id, key, item.store_id, item.revision, None)
        await config_published(self.session, self.tenant_id, store_id)
        await self.session.commit()
        return ConfigItemRead.of(row)

    async def _overrides(self, section: str, key: str) -> Sequence[ConfigRecord]:
        if section != "products":
            return []  # a store's own settings stay when the tenant-wide ones go
        query = select(ConfigRecord).where(
            ConfigRecord.tenant_id == self.tenant_id,
            ConfigRecord.section == section,
            ConfigRecord.key == key,
            ConfigRecord.store_id.is_not(None),
            ConfigRecord.deleted.is_(False),
        )
        return (await self.session.scalars(query)).all()

    async def store_summary(self, store_id: uuid.UUID) -> StoreConfigRead:
        """The store's config version and its live items and overrides per section."""
        await self._store(store_id)
        version = await repository.store_version(self.session, self.tenant_id, store_id)
        sections = {name: SectionCounts() for name in SECTIONS}
        for scope, section, count in await repository.section_counts(self.session, self.tenant_id, store_id):
            counts = sections.setdefault(section, SectionCounts())
            if scope:
                counts.overrides = count
            else:
                counts.items = count
        return StoreConfigRead(store_id=store_id, version=version, sections=sections)
