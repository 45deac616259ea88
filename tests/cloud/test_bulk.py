"""The ingest's bulk writes (cloud.db.bulk) on SQLite and PostgreSQL: rows land inside the
session's transaction (a rollback leaves none), conflicts are skipped and reported, and a row
the database refuses raises SQLAlchemy's error so callers handle both paths alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import BigInteger, Column, DateTime, MetaData, Numeric, String, Table, Uuid, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.bulk import copy_rows, insert_new
from cloud.db.engine import make_engine, make_session_factory

PROBE = Table(
    "bulk_probe",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("quantity", Numeric(15, 3), nullable=False),
)
AT = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(PROBE.metadata.create_all)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def row(seq: int, kind: str = "sale") -> dict[str, object]:
    return {"id": uuid.uuid4(), "seq": seq, "type": kind, "at": AT, "quantity": Decimal("1.250")}


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PROBE)) or 0)


async def test_rows_are_written_in_the_sessions_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await copy_rows(session, PROBE, [row(1), row(2)])
        await session.rollback()
    assert await count(sessions) == 0  # nothing escaped the rolled-back transaction
    async with sessions() as session:
        await copy_rows(session, PROBE, [row(1), row(2)])
        await session.commit()
    async with sessions() as session:
        stored = (
            await session.execute(select(PROBE.c.seq, PROBE.c.type, PROBE.c.at, PROBE.c.quantity))
        ).all()
    # (SQLite keeps no zone: the moment is compared in UTC.)
    assert sorted((r.seq, r.type, r.at.replace(tzinfo=UTC), r.quantity) for r in stored) == [
        (1, "sale", AT, Decimal("1.250")),
        (2, "sale", AT, Decimal("1.250")),
    ]


async def test_insert_new_skips_what_is_stored_and_says_what_it_inserted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = [row(1), row(2)]
    async with sessions() as session:
        assert await insert_new(session, PROBE, first) == {r["id"] for r in first}
        await session.commit()
    again = [first[0], row(3)]  # a redelivered row and a new one
    async with sessions() as session:
        assert await insert_new(session, PROBE, again) == {again[1]["id"]}
        assert await insert_new(session, PROBE, []) == set()
        await session.commit()
    assert await count(sessions) == 3


async def test_a_refused_row_raises_sqlalchemys_error_and_writes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await copy_rows(session, PROBE, [row(1)])
        await session.commit()
    async with sessions() as session:
        with pytest.raises(SQLAlchemyError) as refused:
            await copy_rows(session, PROBE, [row(2), row(1)])  # seq 1 is taken
        assert isinstance(refused.value, DBAPIError)
        await session.rollback()
    assert await count(sessions) == 1
