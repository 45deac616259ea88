"""Event log replay rules and the pairing/token rules, against a real SQLite store."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.db.database import Database
from hub.domain.auth import AuthService, PairingError, PairingRateLimited
from hub.domain.events import EventLog


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "hub.db")
    await database.open()
    yield database
    await database.close()


async def test_events_fan_out_after_commit_and_replay(db: Database) -> None:
    log = EventLog(db, retention=100)
    sub = log.subscribe()
    for i in range(5):
        await log.record("thing", {"n": i})
    live = [sub.queue.get_nowait() for _ in range(5)]
    assert [e.id for e in live] == sorted(e.id for e in live)
    events, truncated = await log.replay(live[1].id, limit=100)
    assert [e.id for e in events] == [e.id for e in live[2:]]
    assert not truncated
    assert await log.last_id() == live[-1].id


async def test_replay_reports_truncation(db: Database) -> None:
    log = EventLog(db, retention=100)
    for i in range(130):
        await log.record("thing", {"n": i})
    assert await log.prune() == 30
    events, truncated = await log.replay(5, limit=1000)
    assert truncated, "a client behind the retained log must be told to reload"
    assert events[0].id == 31
    events, truncated = await log.replay(100, limit=10)
    assert truncated and len(events) == 10
    events, truncated = await log.replay(120, limit=10)
    assert not truncated and [e.id for e in events] == list(range(121, 131))


async def test_event_ids_survive_pruning_and_restart(tmp_path: Path) -> None:
    db = Database(tmp_path / "hub.db")
    await db.open()
    log = EventLog(db, retention=100)
    for i in range(150):
        await log.record("thing", {"n": i})
    await log.prune()
    await db.close()
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:
        log = EventLog(db)
        await log.record("after-restart", {})
        assert await log.last_id() == 151, "ids must never be reused"
    finally:
        await db.close()


async def test_admin_token_file_is_private_and_rotates(db: Database, tmp_path: Path) -> None:
    auth = AuthService(db)
    path = await auth.install_admin_token(tmp_path)
    first = path.read_text().strip()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    principal = await auth.authenticate(first)
    assert principal is not None and principal.role == "admin"
    await auth.install_admin_token(tmp_path)
    assert await auth.authenticate(first) is None, "an old admin token stops working after a restart"
    assert (await auth.authenticate(path.read_text().strip())) is not None


async def test_pairing_code_is_one_time_and_tokens_are_hashed(db: Database, tmp_path: Path) -> None:
    auth = AuthService(db)
    await auth.install_admin_token(tmp_path)
    admin = await auth.authenticate((tmp_path / "admin.token").read_text().strip())
    assert admin is not None
    code, _ = await auth.create_pairing_code(admin)
    token, principal = await auth.pair(code, "till-1")
    assert principal.role == "device"
    assert (await auth.authenticate(token)) == principal
    with pytest.raises(PairingError):
        await auth.pair(code, "till-2")
    stored = [r[0] for r in await db.fetchall("SELECT token_hash FROM api_tokens")]
    assert token not in stored and all(len(h) == 64 for h in stored)
    assert await auth.revoke(principal.token_id, admin)
    assert await auth.authenticate(token) is None
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["pairing.code_created", "pairing.paired", "pairing.failed", "token.revoked"]


async def test_expired_code_and_rate_limit(db: Database, tmp_path: Path) -> None:
    auth = AuthService(db, code_ttl_s=30)
    await auth.install_admin_token(tmp_path)
    admin = await auth.authenticate((tmp_path / "admin.token").read_text().strip())
    assert admin is not None
    code, _ = await auth.create_pairing_code(admin)
    async with db.transaction() as tx:
        await tx.execute("UPDATE pairing_codes SET expires_at = '2000-01-01T00:00:00.000Z'")
    with pytest.raises(PairingError):
        await auth.pair(code, "late")
    for _ in range(AuthService.FAILURES_ALLOWED - 1):
        with pytest.raises(PairingError):
            await auth.pair("0000-0000", "guess")
    fresh, _ = await auth.create_pairing_code(admin)
    with pytest.raises(PairingRateLimited):
        await auth.pair(fresh, "even-the-right-code-waits")
