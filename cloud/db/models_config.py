"""Cloud tables: authored configuration: items with revisions per tenant and store overrides.

An item is one ``(section, key)`` of :data:`protocols.sync.config.SECTIONS`, either
tenant-wide (``scope`` is ``''``, ``store_id`` NULL) or a store's override of it (``scope`` is
the store id as text). ``scope`` exists because PostgreSQL treats NULLs as distinct in a
unique constraint: a non-null scope keeps one row per ``(tenant, scope, section, key)`` on
both databases.

``revision`` comes from the tenant's :class:`ConfigCounter`, bumped with ``UPDATE ...
RETURNING`` in the writing transaction: the counter row stays locked until commit, so two
writes never share a revision and revisions commit in order (a hub that fetched "above V"
cannot miss a revision V' <= V committed later). Deleted items stay as tombstones
(``deleted``, no body) so a delta can tell hubs to withdraw them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UTCDateTime, utcnow

TENANT_SCOPE = ""
"""The ``scope`` of a tenant-wide item."""


def scope_of(store_id: uuid.UUID | None) -> str:
    """The ``scope`` column for a store's override (or the tenant-wide item when None)."""
    return TENANT_SCOPE if store_id is None else str(store_id)


class ConfigRecord(Base):
    """One configuration item at its latest revision (a tombstone once deleted)."""

    __tablename__ = "config_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "scope", "section", "key", name="uq_config_items_item"),
        Index("ix_config_items_tenant_revision", "tenant_id", "revision"),
        Index("ix_config_items_tenant_scope_revision", "tenant_id", "scope", "revision"),
        # Both rows of a changed (section, key) for a hub's delta (revision 0007).
        Index("ix_config_items_tenant_section_key", "tenant_id", "section", "key"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    store_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("stores.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scope: Mapped[str] = mapped_column(String(36), nullable=False, default=TENANT_SCOPE)
    section: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    revision: Mapped[int] = mapped_column(BigInteger, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Canonical JSON of the typed body (msgspec-encoded); NULL for a tombstone.
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class ConfigCounter(Base):
    """Per tenant: the last revision handed out and the next integer key for new items."""

    __tablename__ = "config_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    revision: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    next_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1)
