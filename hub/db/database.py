"""The hub's SQLite store: one writer connection, one reader connection, numbered migrations.

Durability rules (principle 3 of the architecture):
- WAL journal with ``synchronous=FULL`` on the writer, so a commit that carries money or a job
  is on disk before the API answers. An fsync costs well under a millisecond on the box's flash.
- All writes go through :meth:`Database.transaction`, serialised by a lock, and effects that
  must follow a commit (websocket fan-out, waking a device worker) are registered with
  :meth:`Transaction.after_commit` so they never run for a rolled-back change.
- Reads use a second connection, which in WAL mode sees only committed data and never waits for
  the writer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from hub.db.write_lock import WriteLock

log = logging.getLogger(__name__)

T = TypeVar("T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StorageError(Exception):
    """The database cannot be opened, failed its integrity check, or has a newer schema."""


def migration_scripts() -> list[tuple[int, str, str]]:
    """The numbered migrations shipped with the hub, as (number, name, sql) in order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("hub.db.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StorageError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


async def _run_to_end(operation: Awaitable[T]) -> T:
    """Await ``operation`` to its end even if the caller is cancelled meanwhile; then re-raise."""
    task = asyncio.ensure_future(operation)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
    result = task.result()
    if cancelled:
        raise asyncio.CancelledError
    return result


async def _rollback(conn: aiosqlite.Connection) -> None:
    # SQLite may already have rolled back (a failed COMMIT on a full disk does).
    if conn.in_transaction:
        await _run_to_end(conn.execute("ROLLBACK"))


class Transaction:
    """A write transaction in progress; see :meth:`Database.transaction`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._after: list[Callable[[], None]] = []

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        # One hop to the connection's thread instead of three (execute, fetch, close): each hop
        # costs a thread hand-off, and the sale path makes several per request.
        return list(await self._conn.execute_fetchall(sql, params))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback)."""
        self._after.append(callback)


class Database:
    """The hub store. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = WriteLock()

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def open(self) -> None:
        """Open, check integrity, migrate. Raises :class:`StorageError` on a damaged store."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = await self._connect()
        try:
            mode = await self._scalar(writer, "PRAGMA journal_mode=WAL")
            if str(mode).lower() != "wal":
                raise StorageError(f"{self.path}: cannot switch to WAL (got {mode})")
            await writer.execute("PRAGMA synchronous=FULL")
            check = await self._scalar(writer, "PRAGMA quick_check")
            if check != "ok":
                raise StorageError(f"{self.path}: integrity check failed: {check}")
            await self._migrate(writer)
        except sqlite3.DatabaseError as exc:
            await writer.close()
            raise StorageError(f"{self.path} is damaged or not a hub database: {exc}") from None
        except BaseException:
            await writer.close()
            raise
        self._writer = writer
        self._reader = await self._connect()
        await self._reader.execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def _connect(self) -> aiosqlite.Connection:
        try:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {self.path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @staticmethod
    async def _scalar(conn: aiosqlite.Connection, sql: str) -> Any:
        async with conn.execute(sql) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        current = int(await self._scalar(conn, "PRAGMA user_version"))
        scripts = migration_scripts()
        if current > len(scripts):
            raise StorageError(
                f"{self.path} has schema {current}, newer than this hub knows ({len(scripts)}); "
                "refusing to start on a downgrade"
            )
        for number, name, sql in scripts[current:]:
            log.info("applying migration", extra={"migration": name})
            # executescript commits on its own, so the script and the version bump are wrapped
            # in one explicit transaction: a crash mid-migration leaves the old version intact.
            await conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")

    @property
    def schema_version(self) -> int:
        return len(migration_scripts())

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[Transaction]:
        """A serialised write transaction (``BEGIN IMMEDIATE``), committed with a full fsync.

        ``urgent`` puts it ahead of waiting normal transactions (see :mod:`hub.db.write_lock`).

        Cancellation safety: BEGIN, COMMIT and ROLLBACK run in the connection's thread whether
        or not the awaiting task is cancelled. If a task were cancelled while its BEGIN was in
        flight and then let the write lock go, the next writer would find the connection still
        inside a transaction. So these statements are always awaited to their end (and a
        pending cancellation re-raised afterwards), and the lock is released only once the
        connection is out of the transaction.
        """
        writer = self._require(self._writer)
        await self._write_lock.acquire(urgent=urgent)
        try:
            try:
                await _run_to_end(writer.execute("BEGIN IMMEDIATE"))
            except asyncio.CancelledError:
                await _rollback(writer)
                raise
            tx = Transaction(writer)
            try:
                yield tx
            except BaseException:
                await _rollback(writer)
                raise
            try:
                await _run_to_end(writer.execute("COMMIT"))
            except asyncio.CancelledError:
                raise  # the COMMIT itself completed: _run_to_end waited for it
            except BaseException:
                await _rollback(writer)
                raise
        finally:
            self._write_lock.release()
        for callback in tx._after:
            callback()

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        reader = self._require(self._reader)
        return list(await reader.execute_fetchall(sql, params))

    async def backup(self, target: Path) -> int:
        """Online backup to ``target`` while the hub keeps running; returns its size in bytes.

        SQLite's backup API copies a consistent snapshot page by page; the copy is written to a
        temporary name and renamed, so a half-written backup never looks like a good one.
        """
        writer = self._require(self._writer)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        dest = await aiosqlite.connect(partial)
        try:
            await writer.backup(dest, pages=256)
            check = await self._scalar(dest, "PRAGMA quick_check")
        finally:
            await dest.close()
        if check != "ok":
            partial.unlink(missing_ok=True)
            raise StorageError(f"backup failed its integrity check: {check}")
        partial.replace(target)
        return target.stat().st_size  # noqa: ASYNC240

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise StorageError("database is not open")
        return conn
