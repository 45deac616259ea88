"""The ``config_items`` and ``config_counters`` tables: counters, rows, versions and deltas.

Every write starts with :func:`lock` (an ``UPDATE ... RETURNING`` of the tenant's counter row),
so writes of one tenant are serialised from their first statement: reference checks see what
the write will commit against, and revisions commit in the order they were handed out.
Reads for hubs go through plain Core selects returning tuples (no ORM objects per item).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cloud.db.models_config import TENANT_SCOPE, ConfigCounter, ConfigRecord, scope_of


@dataclass(frozen=True, slots=True)
class Allocation:
    """Revisions ``first_revision..last_revision`` and integer keys ``first_id..`` now reserved."""

    first_revision: int
    last_revision: int
    first_id: int


async def _ensure_counter(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    dialect = session.get_bind().dialect.name
    values = {"id": uuid.uuid4(), "tenant_id": tenant_id, "revision": 0, "next_id": 1}
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ConfigCounter).values(**values).on_conflict_do_nothing()
    await session.execute(stmt)


async def allocate(
    session: AsyncSession, tenant_id: uuid.UUID, revisions: int = 0, ids: int = 0, min_next_id: int = 0
) -> Allocation:
    """Reserve ``revisions`` revisions and ``ids`` integer keys; 0 and 0 only lock the counter.

    ``min_next_id`` moves the key counter past a key a client chose itself. The row stays
    locked until the transaction ends.
    """
    table = ConfigCounter
    next_id = table.next_id + ids
    if min_next_id:
        next_id = (
            func.max(next_id, min_next_id) if _is_sqlite(session) else func.greatest(next_id, min_next_id)
        )
    stmt = (
        update(table)
        .where(table.tenant_id == tenant_id)
        .values(revision=table.revision + revisions, next_id=next_id)
        .returning(table.revision, table.next_id)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        await _ensure_counter(session, tenant_id)
        row = (await session.execute(stmt)).one()
    last_revision, after_id = int(row[0]), int(row[1])
    return Allocation(last_revision - revisions + 1, last_revision, after_id - ids)


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def lock(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Lock the tenant's counter for this transaction; the last revision handed out."""
    return (await allocate(session, tenant_id)).last_revision


async def current_revision(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's last handed-out revision, read without locking."""
    value = await session.scalar(select(ConfigCounter.revision).where(ConfigCounter.tenant_id == tenant_id))
    return int(value or 0)


async def get_row(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID | None, section: str, key: str
) -> ConfigRecord | None:
    """The row of one item in one scope, tombstone or not."""
    row: ConfigRecord | None = await session.scalar(
        select(ConfigRecord)
        .where(
            ConfigRecord.tenant_id == tenant_id,
            ConfigRecord.scope == scope_of(store_id),
            ConfigRecord.section == section,
            ConfigRecord.key == key,
        )
        # Re-read after the counter lock: a row loaded earlier in this session may be stale.
        .execution_options(populate_existing=True)
    )
    return row


async def live_bodies(
    session: AsyncSession, tenant_id: uuid.UUID, section: str, *, all_scopes: bool = False
) -> list[tuple[str, str, str]]:
    """``(scope, key, body)`` of the section's items that are not deleted (tenant scope only
    unless ``all_scopes``)."""
    query = select(ConfigRecord.scope, ConfigRecord.key, ConfigRecord.body).where(
        ConfigRecord.tenant_id == tenant_id,
        ConfigRecord.section == section,
        ConfigRecord.deleted.is_(False),
    )
    if not all_scopes:
        query = query.where(ConfigRecord.scope == TENANT_SCOPE)
    return [(s, k, b or "") for s, k, b in (await session.execute(query))]


async def section_rows(
    session: AsyncSession, tenant_id: uuid.UUID, section: str
) -> dict[str, tuple[uuid.UUID, bool, str | None]]:
    """Every tenant-scope row of a section by key: ``(row id, deleted, body)``."""
    query = select(ConfigRecord.key, ConfigRecord.id, ConfigRecord.deleted, ConfigRecord.body).where(
        ConfigRecord.tenant_id == tenant_id,
        ConfigRecord.scope == TENANT_SCOPE,
        ConfigRecord.section == section,
    )
    return {k: (i, d, b) for k, i, d, b in (await session.execute(query))}


async def page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID | None,
    section: str,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[ConfigRecord]]:
    """Items of one scope and section that are not deleted, by key (numeric keys in order)."""
    where = and_(
        ConfigRecord.tenant_id == tenant_id,
        ConfigRecord.scope == scope_of(store_id),
        ConfigRecord.section == section,
        ConfigRecord.deleted.is_(False),
    )
    total = int(await session.scalar(select(func.count()).select_from(ConfigRecord).where(where)) or 0)
    rows = await session.scalars(
        select(ConfigRecord)
        .where(where)
        .order_by(func.length(ConfigRecord.key), ConfigRecord.key)
        .limit(limit)
        .offset(offset)
    )
    return total, rows.all()


async def store_version(session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID) -> int:
    """The highest revision among the items the store sees (0 when there are none)."""
    value = await session.scalar(
        select(func.max(ConfigRecord.revision)).where(
            ConfigRecord.tenant_id == tenant_id, ConfigRecord.scope.in_((TENANT_SCOPE, str(store_id)))
        )
    )
    return int(value or 0)


async def section_counts(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID
) -> list[tuple[str, str, int]]:
    """``(scope, section, live items)`` for the tenant scope and the store's overrides."""
    query = (
        select(ConfigRecord.scope, ConfigRecord.section, func.count())
        .where(
            ConfigRecord.tenant_id == tenant_id,
            ConfigRecord.scope.in_((TENANT_SCOPE, str(store_id))),
            ConfigRecord.deleted.is_(False),
        )
        .group_by(ConfigRecord.scope, ConfigRecord.section)
    )
    return [(s, sec, int(n)) for s, sec, n in (await session.execute(query))]


async def versions(
    session: AsyncSession, tenant_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], int]:
    """The highest revision per ``(tenant, scope)`` of the given tenants."""
    ids = list(tenant_ids)
    if not ids:
        return {}
    query = (
        select(ConfigRecord.tenant_id, ConfigRecord.scope, func.max(ConfigRecord.revision))
        .where(ConfigRecord.tenant_id.in_(ids))
        .group_by(ConfigRecord.tenant_id, ConfigRecord.scope)
    )
    return {(t, s): int(v) for t, s, v in (await session.execute(query))}


async def counters(session: AsyncSession) -> dict[uuid.UUID, int]:
    """Every tenant's last handed-out revision: one small row per tenant."""
    rows = await session.execute(select(ConfigCounter.tenant_id, ConfigCounter.revision))
    return {t: int(r) for t, r in rows}


DeltaRow = tuple[str, str, str, int, bool, str | None]
"""``(section, key, scope, revision, deleted, body)``."""


async def delta_rows(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, since: int
) -> list[DeltaRow]:
    """Both rows (tenant item and override) of every ``(section, key)`` the store sees that has
    a row above ``since``: one query."""
    scopes = (TENANT_SCOPE, str(store_id))
    item = ConfigRecord
    query = select(item.section, item.key, item.scope, item.revision, item.deleted, item.body).where(
        item.tenant_id == tenant_id, item.scope.in_(scopes)
    )
    if since > 0:
        other = aliased(ConfigRecord)
        changed = (
            select(other.id)
            .where(
                other.tenant_id == tenant_id,
                other.scope.in_(scopes),
                other.section == item.section,
                other.key == item.key,
                other.revision > since,
            )
            .exists()
        )
        query = query.where(changed)
    return [
        (sec, key, scope, int(rev), bool(deleted), body)
        for sec, key, scope, rev, deleted, body in (await session.execute(query))
    ]
