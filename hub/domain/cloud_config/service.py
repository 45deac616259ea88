"""The cloud config as the rest of the hub uses it: apply a delta (with the caches to drop once
it commits), the config state for the reported state and ``sync status``, and the documents
the POS pages read (discounts, campaigns, layouts, floor plans, store options)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from hub.db.database import Database
from hub.domain.cloud_config.apply import apply, read_state, record_rejection
from hub.domain.cloud_config.model import DOCUMENT_SECTIONS, AppliedConfig, ConfigState
from hub.domain.errors import NotFound
from hub.domain.events import EventLog
from protocols.sync.config import ConfigDelta


class ConfigDocument(msgspec.Struct, kw_only=True):
    key: str
    revision: int
    updated_at: str
    body: msgspec.Raw


class ConfigDocuments(msgspec.Struct, kw_only=True):
    section: str
    documents: list[ConfigDocument]


class CloudConfig:
    """Applies deltas and reads back what they left; ``invalidate`` clears the services' caches."""

    def __init__(
        self, db: Database, *, invalidate: Sequence[Callable[[], None]] = (), events: EventLog | None = None
    ) -> None:
        self._db = db
        self._invalidate = list(invalidate)
        self._events = events

    def on_applied(self, callback: Callable[[], None]) -> None:
        """Also run ``callback`` after each applied delta commits."""
        self._invalidate.append(callback)

    async def apply(self, delta: ConfigDelta) -> AppliedConfig:
        return await apply(self._db, delta, invalidate=self._invalidate, events=self._events)

    async def reject(self, version: int, error: str) -> None:
        """Record a config that could not even be read (a bad delta envelope)."""
        await record_rejection(self._db, version, error)

    async def state(self) -> ConfigState:
        return await read_state(self._db)

    async def documents(self, section: str) -> ConfigDocuments:
        """The active documents of a document section, by key; 404 for any other section."""
        if section not in DOCUMENT_SECTIONS:
            raise NotFound(
                "unknown_section",
                f"no config section {section!r}; sections are {', '.join(DOCUMENT_SECTIONS)}",
            )
        rows = await self._db.fetchall(
            "SELECT key, revision, updated_at, body FROM config_documents WHERE section = ? AND active = 1 ORDER BY key",
            (section,),
        )
        return ConfigDocuments(
            section=section,
            documents=[
                ConfigDocument(
                    key=r["key"],
                    revision=r["revision"],
                    updated_at=r["updated_at"],
                    body=msgspec.Raw(r["body"].encode()),
                )
                for r in rows
            ],
        )
