"""What else happens, in the same transaction, when facts are stored for the first time.

:class:`~cloud.sync.ingest.EventIngest` calls every projector with the events a batch inserted
(never one a redelivery brought again), inside the transaction that stores them: a report
projection or a webhook delivery is written exactly when the fact is, and never twice.
A projector that raises fails the batch, which is retried, so projectors must only write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.reports.projection import ReportProjector
from cloud.domain.webhooks.projector import project_webhooks


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A fact just stored: the ``events`` row's columns, payload as the hub sent it (JSON)."""

    id: object  # uuid.UUID
    tenant_id: object
    store_id: object
    hub_id: object
    seq: int
    type: str
    schema_version: int
    occurred_at: datetime
    payload: str
    decoded: Any = None  # the payload as the ingest decoded it (its type per protocols.sync), if it did


class Projector(Protocol):
    """Writes what follows from newly stored facts (report rows, webhook deliveries, ...)."""

    async def __call__(self, session: AsyncSession, events: Sequence[StoredEvent]) -> None: ...


def default_projectors() -> list[Projector]:
    """The projectors the bridge runs (each domain package that needs one adds it here)."""
    return [ReportProjector(), project_webhooks]
