"""Bulk writes for the ingest's hot path: PostgreSQL's own bulk paths, SQLAlchemy Core elsewhere.

The bridge stores thousands of facts a second, each with a few report rows. Through SQLAlchemy
every row costs a round of parameter processing in Python, more than PostgreSQL spends writing
it. On PostgreSQL (asyncpg) these helpers hand the rows to the driver directly, inside the
session's transaction:

* :func:`copy_rows` uses ``COPY ... FROM STDIN`` (binary) for rows that cannot conflict;
* :func:`insert_new` sends one ``INSERT ... SELECT FROM unnest($1, $2, ...) ON CONFLICT DO
  NOTHING RETURNING`` with a typed array per column, so a batch is one statement.

Values must already be what the columns hold (aware datetimes, UUIDs, Decimals): no
SQLAlchemy type processing runs on this path. A driver error is raised as SQLAlchemy's
:class:`~sqlalchemy.exc.DBAPIError`, so callers handle both paths alike. On SQLite the same
calls are plain Core inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

Row = dict[str, Any]


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``, inside its transaction."""
    connection = await session.connection()
    # SQLAlchemy's asyncpg adapter opens its transaction with its first statement; make sure
    # it is open, or the driver's statements would run (and commit) outside it.
    await connection.execute(text("SELECT 1"))
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _column_types(table: Table, columns: Sequence[str]) -> list[str]:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return [table.c[name].type.compile(dialect=dialect) for name in columns]


async def copy_rows(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    """Insert ``rows`` (all with the same keys) that cannot conflict with anything stored."""
    if not rows:
        return
    if not _is_postgresql(session):
        await session.execute(sqlite.insert(table), list(rows))
        return
    columns = list(rows[0])
    driver = await _driver(session)
    records = [tuple(row[name] for name in columns) for row in rows]
    try:
        await driver.copy_records_to_table(table.name, columns=columns, records=records)
    except asyncpg.PostgresError as exc:
        raise DBAPIError(f"COPY {table.name}", None, exc) from exc


async def insert_new(session: AsyncSession, table: Table, rows: Sequence[Row], key: str = "id") -> set[Any]:
    """Insert ``rows``, skipping any that conflict with a stored one; returns the ``key`` values
    of the rows really inserted."""
    if not rows:
        return set()
    if not _is_postgresql(session):
        returning = sqlite.insert(table).on_conflict_do_nothing().returning(table.c[key])
        return set((await session.scalars(returning, list(rows))).all())
    columns = list(rows[0])
    arrays = [[row[name] for row in rows] for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)
    casts = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_column_types(table, columns), start=1))
    statement = (
        f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({casts}) "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {key}"
    )
    driver = await _driver(session)
    try:
        found = await driver.fetch(statement, *arrays)
    except asyncpg.PostgresError as exc:
        raise DBAPIError(statement, None, exc) from exc
    return {record[0] for record in found}
