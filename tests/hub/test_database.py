"""Storage: migrations, WAL with full sync, integrity check, online backup, commit hooks."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from hub.db.database import Database, StorageError, migration_scripts


async def test_open_migrates_and_uses_wal(tmp_path: Path) -> None:
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:
        row = await db.fetchone("PRAGMA user_version")
        assert row is not None and row[0] == len(migration_scripts())
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"print_jobs", "events", "api_tokens", "audit_log"} <= tables
    finally:
        await db.close()
    # Re-opening applies nothing twice.
    db = Database(tmp_path / "hub.db")
    await db.open()
    await db.close()


async def test_rollback_skips_after_commit_hooks(tmp_path: Path) -> None:
    db = Database(tmp_path / "hub.db")
    await db.open()
    fired: list[str] = []
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
                tx.after_commit(lambda: fired.append("rolled back"))
                raise RuntimeError("boom")
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
            tx.after_commit(lambda: fired.append("committed"))
        assert fired == ["committed"]
        assert [r[0] for r in await db.fetchall("SELECT key FROM meta")] == ["b"]
    finally:
        await db.close()


async def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        await Database(path).open()


async def test_integrity_check_catches_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = Database(path)
    await db.open()
    async with db.transaction() as tx:
        for i in range(2000):
            await tx.execute(
                "INSERT INTO audit_log (at, actor, action) VALUES (?, 'x', ?)",
                ("t", "a" * 50 + str(i)),
            )
    await db.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    # Scribble over the b-tree header of a few pages in the middle of the file.
    for offset in range(page * 3, min(len(data), page * 8), page):
        data[offset : offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError):
        await Database(path).open()


async def test_online_backup_while_writing(tmp_path: Path) -> None:
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('hub_id', 'abc')")
        size = await db.backup(tmp_path / "backups" / "copy.db")
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('later', 'x')")
        assert size > 0
        with sqlite3.connect(tmp_path / "backups" / "copy.db") as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert copy.execute("SELECT value FROM meta WHERE key = 'hub_id'").fetchone()[0] == "abc"
            assert copy.execute("SELECT COUNT(*) FROM meta WHERE key = 'later'").fetchone()[0] == 0
        assert not (tmp_path / "backups" / "copy.db.partial").exists()
    finally:
        await db.close()


async def test_cancelling_writers_at_any_point_never_leaves_a_transaction_open(tmp_path: Path) -> None:
    """A task cancelled while its BEGIN, body or COMMIT is in flight (a dropped HTTP request, a
    stopped sync relay) must leave the connection clean for the next writer."""
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:

        async def writer(n: int) -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{n}", "v"))
                await tx.execute("UPDATE meta SET value = 'w' WHERE key = ?", (f"k{n}",))

        committed = 0
        for n in range(300):
            task = asyncio.create_task(writer(n))
            # Cancel after 0..4 loop turns: before BEGIN, during it, in the body, at COMMIT.
            for _ in range(n % 5):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if not task.cancelled():
                committed += 1
        async with db.transaction() as tx:  # the next writer is never refused
            await tx.execute("INSERT INTO meta (key, value) VALUES ('after', 'ok')")
        rows = await db.fetchall("SELECT key, value FROM meta WHERE key LIKE 'k%'")
        # Every row is whole: inserted and updated together, or not at all.
        assert all(row["value"] == "w" for row in rows)
        assert len(rows) >= committed
    finally:
        await db.close()
