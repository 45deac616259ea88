"""The append-only, hash-chained audit log: chaining, verification, tampering, CLI and API."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hub.db.database import Database, migration_scripts
from hub.domain import audit
from hub.domain.audit import GENESIS, row_hash
from tests.support.procs import HubProcess


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "hub.db")
    await database.open()
    yield database
    await database.close()


async def _write(db: Database, count: int, *, actor: str = "admin:local", action: str = "thing") -> None:
    for i in range(count):
        async with db.transaction() as tx:
            await audit.record(tx, actor=actor, action=action, target=f"t{i}", details={"n": i})


async def _logged_db(path: Path, count: int = 5) -> None:
    """A closed hub database at ``path`` holding ``count`` chained entries."""
    database = Database(path)
    await database.open()
    try:
        await _write(database, count)
    finally:
        await database.close()


def _tamper(path: Path, *statements: str) -> None:
    """What an attacker with the file can do: drop the guard triggers, then edit rows."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


async def _verify_file(path: Path) -> audit.VerifyResult:
    store = audit.ReadOnlyStore(path)
    try:
        return await audit.verify(store)
    finally:
        store.close()


# --- chaining -------------------------------------------------------------------------------


async def test_records_are_chained(db: Database) -> None:
    async with db.transaction() as tx:
        await audit.record(tx, actor="admin:local", action="first", details={"a": 1})
        await audit.record(tx, actor="employee:1:Ana", action="second", target="x", terminal="T1")
    async with db.transaction() as tx:
        await audit.record(tx, actor="admin:local", action="third")
    rows = await db.fetchall("SELECT * FROM audit_log ORDER BY id")
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS
    for before, row in itertools.pairwise(rows):
        assert row["prev_hash"] == before["hash"], "each row links to the one before"
    for row in rows:
        expected = row_hash(
            row["prev_hash"],
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            target=row["target"],
            terminal=row["terminal"],
            details=row["details"],
        )
        assert row["hash"] == expected
    assert rows[1]["terminal"] == "T1"
    head = await db.fetchone("SELECT value FROM meta WHERE key = 'audit.head'")
    assert head is not None and head[0] == f"3:{rows[2]['hash']}"


async def test_rolled_back_entry_leaves_no_trace(db: Database) -> None:
    await _write(db, 2)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await audit.record(tx, actor="a", action="doomed")
            raise RuntimeError("the sale failed")
    await _write(db, 1)
    result = await audit.verify(db)
    assert result.ok and result.rows_checked == 3


async def test_verify_ok(db: Database) -> None:
    empty = await audit.verify(db)
    assert empty.ok and empty.rows_checked == 0 and empty.head_id is None
    await _write(db, 4)
    result = await audit.verify(db)
    assert result.ok and result.rows_checked == 4 and result.first_bad_id is None
    last = await db.fetchone("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    assert last is not None and (result.head_id, result.head_hash) == (last["id"], last["hash"])


async def test_verify_pages_through_a_long_log(db: Database) -> None:
    async with db.transaction() as tx:
        for i in range(2500):  # more than one verify batch
            await audit.record(tx, actor="a", action="bulk", details={"i": i})
    result = await audit.verify(db)
    assert result.ok and result.rows_checked == 2500


async def test_triggers_refuse_update_and_delete(db: Database) -> None:
    await _write(db, 2)
    for statement in (
        "UPDATE audit_log SET details = '{\"n\": 99}' WHERE id = 1",
        "UPDATE audit_log SET hash = NULL WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            async with db.transaction() as tx:
                await tx.execute(statement)
    assert (await audit.verify(db)).ok


# --- tampering ------------------------------------------------------------------------------


async def test_changed_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 5)
    _tamper(path, "UPDATE audit_log SET details = '{\"n\":1000}' WHERE id = 3")
    result = await _verify_file(path)
    assert not result.ok
    assert result.first_bad_id == 3
    assert result.reason is not None and "changed row" in result.reason
    assert result.rows_checked == 2


async def test_changed_row_found_through_the_hub_database_too(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 3)
    _tamper(path, "UPDATE audit_log SET actor = 'someone-else' WHERE id = 2")
    database = Database(path)
    await database.open()
    try:
        result = await audit.verify(database)
    finally:
        await database.close()
    assert not result.ok and result.first_bad_id == 2


async def test_rehashed_row_breaks_the_link_to_the_next(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 4)
    conn = sqlite3.connect(path)
    row = conn.execute(
        "SELECT id, at, actor, action, target, terminal, prev_hash FROM audit_log WHERE id = 2"
    ).fetchone()
    conn.close()
    forged_details = '{"n":42}'
    forged = row_hash(
        row[6],
        id=row[0],
        at=row[1],
        actor=row[2],
        action=row[3],
        target=row[4],
        terminal=row[5],
        details=forged_details,
    )
    _tamper(path, f"UPDATE audit_log SET details = '{forged_details}', hash = '{forged}' WHERE id = 2")
    result = await _verify_file(path)
    assert not result.ok and result.first_bad_id == 3
    assert result.reason is not None and "broken link" in result.reason and "row 2" in result.reason


async def test_deleted_row_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 5)
    _tamper(path, "DELETE FROM audit_log WHERE id = 2")
    result = await _verify_file(path)
    assert not result.ok and result.first_bad_id == 3
    assert result.reason is not None and "deleted row" in result.reason and "row 2" in result.reason


async def test_deleted_newest_rows_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 5)
    _tamper(path, "DELETE FROM audit_log WHERE id >= 4")
    result = await _verify_file(path)
    assert not result.ok and result.first_bad_id == 5
    assert result.reason is not None and "deleted row" in result.reason


async def test_deleted_first_row_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 3)
    _tamper(path, "DELETE FROM audit_log WHERE id = 1")
    result = await _verify_file(path)
    assert not result.ok and result.first_bad_id == 2 and "deleted row" in (result.reason or "")


async def test_cleared_hash_is_not_laundered_by_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await _logged_db(path, 3)
    _tamper(path, "UPDATE audit_log SET hash = NULL, details = '{}' WHERE id = 3")
    database = Database(path)
    await database.open()
    try:
        await _write(database, 1)  # must not "seal" the tampered row as if it were legacy
        result = await audit.verify(database)
    finally:
        await database.close()
    assert not result.ok and result.first_bad_id == 3


# --- rows from before the chain -------------------------------------------------------------


async def test_rows_from_before_the_migration_are_sealed_by_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, _, sql in migration_scripts():
        if number >= 7:
            break
        conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")
    conn.executemany(
        "INSERT INTO audit_log (at, actor, action, details) VALUES (?, ?, ?, '{}')",
        [
            ("2024-01-01T10:00:00.000Z", "admin:local", "old.one"),
            ("2024-01-01T11:00:00.000Z", "x", "old.two"),
        ],
    )
    conn.close()
    database = Database(path)
    await database.open()  # applies 0007
    try:
        before = await audit.verify(database)
        assert before.ok and before.legacy_rows == 2 and before.rows_checked == 0
        await _write(database, 1)
        after = await audit.verify(database)
        assert after.ok and after.rows_checked == 3 and after.legacy_rows == 0
        rows = await database.fetchall("SELECT id, prev_hash, hash, action FROM audit_log ORDER BY id")
        assert rows[0]["prev_hash"] == GENESIS and rows[1]["prev_hash"] == rows[0]["hash"]
        assert rows[2]["prev_hash"] == rows[1]["hash"] and rows[2]["action"] == "thing"
    finally:
        await database.close()


# --- listing and export ---------------------------------------------------------------------


async def test_query_filters_and_pages(db: Database) -> None:
    await _write(db, 3, actor="employee:1:Ana", action="cart.voided")
    await _write(db, 2, actor="admin:local", action="drawer.opened")
    by_actor = await audit.query(db, actor="admin:local")
    assert [e.action for e in by_actor] == ["drawer.opened"] * 2
    by_action = await audit.query(db, action="cart.voided")
    assert [e.id for e in by_action] == [3, 2, 1], "newest first"
    page1 = await audit.query(db, limit=2)
    page2 = await audit.query(db, limit=2, before_id=page1[-1].id)
    assert [e.id for e in page1 + page2] == [5, 4, 3, 2]
    assert await audit.query(db, since="2000-01-01", until="2000-01-02") == []
    assert len(await audit.query(db, since="2000-01-01T00:00:00Z")) == 5
    with pytest.raises(ValueError, match="time zone"):
        await audit.query(db, since="2024-01-01T00:00:00")  # no zone: ambiguous
    entry = by_actor[0]
    assert entry.hash is not None and msgspec.json.decode(entry.details) == {"n": 1}


async def test_export_csv(db: Database) -> None:
    await _write(db, 3)
    text = await audit.export_csv(db)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == ["1", "2", "3"], "oldest first"
    assert list(rows[0]) == list(audit.CSV_HEADER)
    assert rows[1]["prev_hash"] == rows[0]["hash"] and rows[0]["details"] == '{"n":0}'
    assert list(csv.DictReader(io.StringIO(await audit.export_csv(db, until="2000-01-01")))) == []


# --- CLI and API, as real processes ---------------------------------------------------------


def test_cli_verify_and_export_on_a_stopped_hub(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path)  # config only: the daemon is never started
    path = hub.data_dir / "hub.db"
    asyncio.run(_logged_db(path, 4))
    result = hub.cli("audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout and "4 row(s)" in result.stdout
    out = tmp_path / "audit.csv"
    result = hub.cli("audit", "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 4

    _tamper(path, "UPDATE audit_log SET target = 'nothing to see' WHERE id = 2")
    result = hub.cli("audit", "verify")
    assert result.returncode == 1
    assert "row 2" in result.stderr and "changed row" in result.stderr
    result = hub.cli("audit", "verify", "--json")
    assert result.returncode == 1
    report: dict[str, Any] = msgspec.json.decode(result.stdout)
    assert report["ok"] is False and report["first_bad_id"] == 2


def test_cli_verify_without_a_database(tmp_path: Path) -> None:
    result = HubProcess(tmp_path).cli("audit", "verify")
    assert result.returncode == 2 and "cannot open" in result.stderr


def test_api_lists_exports_and_verifies_for_admin_only(hub: HubProcess) -> None:
    device = hub.token  # pairing writes audit entries (code created, paired)
    for path in ("/api/v1/audit", "/api/v1/audit/export.csv", "/api/v1/audit/verify"):
        status, body = hub.api("GET", path, token=device)
        assert status == 403, (path, body)
        status, body = hub.api("GET", path, token="")
        assert status == 401, (path, body)

    status, page = hub.api("GET", "/api/v1/audit", token=hub.admin_token)
    assert status == 200 and len(page["entries"]) >= 2
    assert all(e["hash"] for e in page["entries"])
    status, page = hub.api("GET", "/api/v1/audit?action=pairing.paired&limit=1", token=hub.admin_token)
    assert status == 200 and [e["action"] for e in page["entries"]] == ["pairing.paired"]
    status, page = hub.api("GET", "/api/v1/audit?from=2000-01-01&to=2000-01-02", token=hub.admin_token)
    assert status == 200 and page == {"entries": [], "next_before_id": None}
    status, error = hub.api("GET", "/api/v1/audit?from=yesterday", token=hub.admin_token)
    assert status == 400, error

    status, result = hub.api("GET", "/api/v1/audit/verify", token=hub.admin_token)
    assert status == 200 and result["ok"] is True and result["rows_checked"] >= 2

    status, raw = hub.api_raw("GET", "/api/v1/audit/export.csv", token=hub.admin_token)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert rows and rows[0]["prev_hash"] == GENESIS

    # The offline command reads the same file while the daemon runs.
    result = hub.cli("audit", "verify")
    assert result.returncode == 0, result.stderr
