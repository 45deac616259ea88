"""The audit log: who did what sensitive thing, written in the same transaction as the thing.

The log is append-only (triggers in migration 0007 refuse UPDATE and DELETE) and hash-chained:
each row stores ``prev_hash`` (the hash of the row before it, :data:`GENESIS` for the first)
and ``hash = sha256(prev_hash + canonical JSON of the row)``. :func:`verify` recomputes the
chain and names the first row that was changed, removed or relinked.

What the chain does and does not prove: anyone who can write the database file can drop the
triggers, but cannot change, delete or insert a row without breaking the chain, unless they
rewrite every hash after it. Catching such a full rewrite needs the head hash kept somewhere
they cannot reach (a printed day-close report, the cloud); :class:`VerifyResult` returns the
head for that reason.

Rows written before migration 0007 have no hash; the first :func:`record` after the upgrade
chains them ("seals" them) in its own transaction, see :func:`_seal_legacy`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import msgspec

from hub.db.database import Database, Transaction
from hub.domain import outbox
from hub.domain.clock import iso, now_iso, parse_iso

# prev_hash of the first row: a fixed value rather than NULL, so every row is hashed the same way.
GENESIS = "0" * 64
# meta key: "<id>:<hash>" of the newest row, written with it. Without it, removing the newest
# rows would leave a shorter chain that is still perfectly consistent.
HEAD_KEY = "audit.head"
# meta key: the newest row id when migration 0007 ran; rows up to it may still be unhashed.
LEGACY_KEY = "audit.legacy_max_id"
# Rows read per query while verifying or exporting, so a long log is not loaded at once.
_BATCH = 1000
_COLUMNS = "id, at, actor, action, target, terminal, details, prev_hash, hash"
CSV_HEADER = ("id", "at", "actor", "action", "target", "terminal", "details", "prev_hash", "hash")


class AuditEntry(msgspec.Struct, frozen=True):
    id: int
    at: str
    actor: str
    action: str
    target: str | None
    details: msgspec.Raw
    terminal: str | None = None
    prev_hash: str | None = None
    hash: str | None = None


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :func:`verify`.

    ``first_bad_id`` is the row where the chain first fails and ``reason`` says how: the row
    was changed, rows before it are missing (deleted), or its link to the row before is broken.
    ``legacy_rows`` counts pre-chain rows not sealed yet (not an error).
    """

    ok: bool
    rows_checked: int
    first_bad_id: int | None = None
    reason: str | None = None
    head_id: int | None = None
    head_hash: str | None = None
    legacy_rows: int = 0


class RowSource(Protocol):
    """Anything that runs a read query: a :class:`Database` or :class:`ReadOnlyStore`."""

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...


def canonical(
    *,
    id: int,
    at: str,
    actor: str,
    action: str,
    target: str | None,
    terminal: str | None,
    details: str,
) -> bytes:
    """The bytes a row's hash covers: sorted keys, no whitespace, UTF-8.

    ``details`` is the stored JSON text itself (not re-encoded), so the hash covers exactly the
    bytes in the file and does not depend on how a JSON library orders or spaces things.
    """
    row = {
        "id": id,
        "at": at,
        "actor": actor,
        "action": action,
        "target": target,
        "terminal": terminal,
        "details": details,
    }
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(prev_hash: str, **fields: Any) -> str:
    """sha256(prev_hash + canonical JSON of the row), as hex."""
    return hashlib.sha256(prev_hash.encode() + canonical(**fields)).hexdigest()


def _fields(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": row["at"],
        "actor": row["actor"],
        "action": row["action"],
        "target": row["target"],
        "terminal": row["terminal"],
        "details": row["details"],
    }


async def record(
    tx: Transaction,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    details: Any = None,
    terminal: str | None = None,
) -> None:
    """Append an audit entry inside ``tx``, chained to the newest entry.

    Reading the newest hash here is race-free: write transactions are serialised by the
    database's writer lock (and ``BEGIN IMMEDIATE``), so no other entry can slip in between.
    """
    last = await tx.fetchone("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    if last is not None and last["hash"] is None:
        last = await _seal_legacy(tx)
    # A hash still missing after sealing was cleared by someone (see _seal_legacy): chain on
    # from genesis rather than fail the sale or shift this entry belongs to; verify reports it.
    prev_hash = GENESIS if last is None else str(last["hash"] or GENESIS)
    # The id is part of the hashed row, so it is chosen here rather than by SQLite (same value
    # SQLite would pick: max + 1).
    fields: dict[str, Any] = {
        "id": 1 if last is None else int(last["id"]) + 1,
        "at": now_iso(),
        "actor": actor,
        "action": action,
        "target": target,
        "terminal": terminal,
        "details": msgspec.json.encode(details or {}).decode(),
    }
    digest = row_hash(prev_hash, **fields)
    await tx.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed
        (*fields.values(), prev_hash, digest),
    )
    await _set_head(tx, fields["id"], digest)
    # Every audit entry is also a fact for the cloud (the sync contract's audit.recorded).
    await outbox.append(
        tx,
        "audit.recorded",
        {k: fields[k] for k in ("id", "at", "actor", "action", "target")} | {"details": details or {}},
    )


async def _set_head(tx: Transaction, row_id: int, digest: str) -> None:
    await tx.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (HEAD_KEY, f"{row_id}:{digest}"),
    )


async def _seal_legacy(tx: Transaction) -> sqlite3.Row | None:
    """Chain the rows that predate migration 0007; returns the newest row afterwards.

    The update trigger allows exactly this: setting prev_hash and hash once on a row without
    a hash, changing nothing else. Only rows that existed when migration 0007 ran qualify: a
    newer row without a hash had it cleared, and sealing it would launder the tampering.
    """
    legacy_max = int((await tx.fetchone("SELECT value FROM meta WHERE key = ?", (LEGACY_KEY,)) or [0])[0])
    before = await tx.fetchone(
        "SELECT id, hash FROM audit_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1"
    )
    prev_hash = GENESIS if before is None else str(before["hash"])
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM audit_log WHERE hash IS NULL AND id <= ? ORDER BY id",  # noqa: S608
        (legacy_max,),
    )
    for row in rows:
        digest = row_hash(prev_hash, **_fields(row))
        await tx.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", (prev_hash, digest, row["id"])
        )
        prev_hash = digest
    if rows:
        await _set_head(tx, int(rows[-1]["id"]), prev_hash)
    return await tx.fetchone("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")


async def _meta(source: RowSource, key: str) -> str | None:
    rows = await source.fetchall("SELECT value FROM meta WHERE key = ?", (key,))
    return str(rows[0][0]) if rows else None


async def verify(db: RowSource) -> VerifyResult:
    """Recompute the whole chain; the first row that fails, and why, if any does.

    Checked per row, in id order: ids are consecutive from 1 (a gap means deleted rows), the
    row's hash matches its content (else the row was changed), and its prev_hash is the hash of
    the row before (else the link is broken: that row was rewritten or rows were reordered).
    Finally the newest row must be the head recorded in meta (else rows were cut off the end).
    """
    legacy_max = int(await _meta(db, LEGACY_KEY) or 0)
    head = await _meta(db, HEAD_KEY)
    checked = legacy = 0
    prev_id = 0
    prev_hash: str | None = GENESIS
    chained_seen = False

    def bad(row_id: int, reason: str) -> VerifyResult:
        return VerifyResult(ok=False, rows_checked=checked, first_bad_id=row_id, reason=reason)

    while True:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608
            (prev_id, _BATCH),
        )
        if not rows:
            break
        for row in rows:
            row_id = int(row["id"])
            if row_id != prev_id + 1:
                missing = (
                    f"row {prev_id + 1}" if row_id == prev_id + 2 else f"rows {prev_id + 1}-{row_id - 1}"
                )
                return bad(row_id, f"deleted row: {missing} missing before row {row_id}")
            stored = row["hash"]
            if stored is None:
                # A pre-0007 row awaiting its seal is fine, as long as nothing chained came
                # before it and it is old enough; a cleared hash on any other row is tampering.
                if chained_seen or row_id > legacy_max:
                    return bad(row_id, f"changed row: row {row_id} has no hash")
                legacy += 1
                prev_id, prev_hash = row_id, None
                continue
            if legacy and not chained_seen:
                # Sealing chains every legacy row at once, so a hashed row after unsealed ones
                # cannot come from this code.
                return bad(row_id, f"broken link: row {row_id} is chained after unsealed rows")
            chained_seen = True
            link = row["prev_hash"] or ""
            if row_hash(link, **_fields(row)) != stored:
                return bad(row_id, f"changed row: row {row_id} does not match its hash")
            if link != prev_hash:
                return bad(
                    row_id,
                    f"broken link: row {row_id} does not follow row {prev_id} "
                    f"(row {prev_id} was rewritten or rows were removed)",
                )
            checked += 1
            prev_id, prev_hash = row_id, stored
    if head is not None:
        head_id_text, _, head_hash = head.partition(":")
        head_id = int(head_id_text)
        if prev_id < head_id:
            return bad(head_id, f"deleted row: the log ends at row {prev_id}, its head is row {head_id}")
        if prev_id == head_id and prev_hash != head_hash:
            return bad(
                head_id, f"changed row: row {head_id} differs from the recorded head (chain rewritten)"
            )
        if prev_id > head_id:
            return bad(head_id + 1, f"broken link: rows after the recorded head (row {head_id}) were added")
    return VerifyResult(
        ok=True,
        rows_checked=checked,
        head_id=prev_id or None,
        head_hash=prev_hash if chained_seen else None,
        legacy_rows=legacy,
    )


def _bound(text: str | None, *, end: bool) -> str | None:
    """An ISO time filter in the stored form (UTC, milliseconds) so text comparison works.

    A bare date means the whole day: ``since`` from its start, ``until`` to its end.
    """
    if not text:
        return None
    if len(text) == 10:  # YYYY-MM-DD
        day = parse_iso(text + "T00:00:00+00:00")
        return iso(day + timedelta(days=1) if end else day)
    moment = parse_iso(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} needs a time zone (Z or +hh:mm)")
    return iso(moment)


def _where(
    *, actor: str | None, action: str | None, since: str | None, until: str | None
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if actor:
        clauses.append("actor = ?")
        params.append(actor)
    if action:
        clauses.append("action = ?")
        params.append(action)
    start, stop = _bound(since, end=False), _bound(until, end=True)
    if start:
        clauses.append("at >= ?")
        params.append(start)
    if stop:
        # Exclusive for a bare date (its next midnight), inclusive for an exact time.
        clauses.append("at < ?" if until and len(until) == 10 else "at <= ?")
        params.append(stop)
    return clauses, params


def _entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=r["id"],
        at=r["at"],
        actor=r["actor"],
        action=r["action"],
        target=r["target"],
        details=msgspec.Raw(r["details"].encode()),
        terminal=r["terminal"],
        prev_hash=r["prev_hash"],
        hash=r["hash"],
    )


async def query(
    db: RowSource,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries newest first, filtered; page on with ``before_id`` = the last id of a page.

    Keyset paging (by id) rather than offsets: new entries arrive all the time and would shift
    an offset, repeating rows on the next page. Raises ValueError on a malformed time filter.
    """
    clauses, params = _where(actor=actor, action=action, since=since, until=until)
    if before_id is not None:
        clauses.append("id < ?")
        params.append(before_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM audit_log {where} ORDER BY id DESC LIMIT ?",  # noqa: S608 - fixed text
        [*params, limit],
    )
    return [_entry(r) for r in rows]


async def recent(db: Database, *, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """The newest entries, optionally of one action (kept for existing callers)."""
    return await query(db, action=action, limit=limit)


async def export_csv(db: RowSource, since: str | None = None, until: str | None = None) -> str:
    """The log (or a time window of it) as CSV, oldest first, with each row's hashes.

    Values are written as stored, not escaped against spreadsheet formulas: the export is
    evidence, and with the hashes it can be re-verified outside the hub only if it is exact.
    """
    clauses, params = _where(actor=None, action=None, since=since, until=until)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    last_id = 0
    while True:
        where = " AND ".join(["id > ?", *clauses])
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM audit_log WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608
            [last_id, *params, _BATCH],
        )
        if not rows:
            break
        writer.writerows([tuple(r[c] for c in CSV_HEADER) for r in rows])
        last_id = int(rows[-1]["id"])
    return out.getvalue()


class ReadOnlyStore:
    """The hub database opened read-only with the stdlib driver, for offline CLI commands.

    It never migrates or writes, so it works while the daemon is stopped (or running: WAL lets
    a reader look at the last committed state), and cannot change the evidence it checks.
    """

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(f"no hub database at {path}")
        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        self._conn.row_factory = sqlite3.Row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        self._conn.close()
