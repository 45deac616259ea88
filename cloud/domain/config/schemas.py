"""Wire types of configuration authoring: items as the API shows them, pages, summaries, imports.

Item bodies are written as the section's own type (:data:`protocols.sync.config.SECTIONS`),
sent as the request body as they are; employees send ``pin`` instead of ``pin_hash``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from cloud.db.models_config import ConfigRecord
from cloud.domain.config.validation import shown


class ConfigItemRead(msgspec.Struct, kw_only=True):
    """One item: tenant-wide (``store_id`` null) or a store's override; ``body`` null once deleted."""

    section: str
    key: str
    store_id: uuid.UUID | None
    revision: int
    deleted: bool
    body: Any
    updated_at: datetime
    updated_by: uuid.UUID | None

    @classmethod
    def of(cls, row: ConfigRecord) -> ConfigItemRead:
        """From a row (an employee's PIN hash left out)."""
        return cls(
            section=row.section, key=row.key, store_id=row.store_id, revision=row.revision, deleted=row.deleted,
            body=shown(row.section, row.body), updated_at=row.updated_at, updated_by=row.updated_by,
        )  # fmt: skip


class ConfigPage(msgspec.Struct, kw_only=True):
    """A page of a section's items (``limit``/``offset``), with the total count."""

    items: list[ConfigItemRead]
    total: int
    limit: int
    offset: int


class SectionCounts(msgspec.Struct, kw_only=True):
    """Live tenant-wide items of a section and the store's overrides of it."""

    items: int = 0
    overrides: int = 0


class StoreConfigRead(msgspec.Struct, kw_only=True):
    """``GET /api/v1/stores/{id}/config``: the version the store's hubs should apply."""

    store_id: uuid.UUID
    version: int
    sections: dict[str, SectionCounts]


class ImportRowError(msgspec.Struct, kw_only=True):
    """A CSV row that cannot be imported: ``row`` is the line number (the header is line 1)."""

    row: int
    field: str
    message: str


class ImportReport(msgspec.Struct, kw_only=True):
    """What a product import did (or, on a dry run, would do)."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]
    version: int
