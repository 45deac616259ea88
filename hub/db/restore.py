"""Putting a backup back in place of the hub database, for ``smartpos-hub restore``.

Only while the daemon is stopped (the CLI checks). The order of the steps is what makes it safe:

1. The backup is checked read-only first (a SQLite file, passes ``PRAGMA integrity_check``,
   has the hub's ``meta`` table, a schema this hub can open); a bad file changes nothing.
2. It is copied with SQLite's backup API into a temporary file next to the database, so the
   copy is complete even if the backup had a ``-wal`` file beside it, and fsynced.
3. The current database is kept as ``backups/hub-before-restore-<stamp>.db`` (through the
   backup API too, so its own ``-wal`` content is included; byte copies if it is too damaged).
4. The old ``-wal`` and ``-shm`` files are removed *before* the rename: SQLite would replay a
   stale write-ahead log onto the restored file and corrupt it.
5. ``os.replace`` swaps the file in atomically and the directory is fsynced, so a power cut
   leaves either the old database or the restored one, never a mix.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from hub.db.database import migration_scripts

SIDECARS = ("-wal", "-shm")


class RestoreError(Exception):
    """The backup cannot be restored; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    """A checked backup file."""

    path: str
    size_bytes: int
    schema_version: int
    hub_id: str | None


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`restore_database` did; ``previous`` is None when there was no database."""

    database: str
    previous: str | None
    backup: BackupInfo


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _open_readonly(path: Path) -> tuple[sqlite3.Connection, list[Path]]:
    """A read-only connection, and the ``-wal``/``-shm`` files opening it is about to create.

    A read-only connection to a WAL-mode file creates them and cannot remove them on close;
    the caller removes those it caused, so a checked backup leaves no litter beside it.
    """
    created = [p for p in (_sidecar(path, s) for s in SIDECARS) if not p.exists()]
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True), created


def _tidy(created: list[Path]) -> None:
    for path in created:
        path.unlink(missing_ok=True)


def inspect_backup(path: Path) -> BackupInfo:
    """Check a candidate backup without changing it; :class:`RestoreError` says what is wrong."""
    if not path.is_file():
        raise RestoreError(f"no backup file at {path}")
    expected = len(migration_scripts())
    conn, created = _open_readonly(path)
    try:
        check = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        if check != ["ok"]:
            raise RestoreError(f"{path} fails SQLite's integrity check: {'; '.join(check)}")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
            raise RestoreError(f"{path} is a SQLite database but not a hub database (it has no meta table)")
        schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
        row = conn.execute("SELECT value FROM meta WHERE key = 'hub_id'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()
        _tidy(created)
    if schema > expected:
        raise RestoreError(
            f"{path} has schema {schema}, newer than this hub software knows ({expected}): "
            "update the hub before restoring it"
        )
    return BackupInfo(
        path=str(path),
        size_bytes=path.stat().st_size,
        schema_version=schema,
        hub_id=None if row is None else str(row[0]),
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same_owner(path: Path, reference: Path) -> None:
    """Give ``path`` the owner and mode of ``reference``: restore runs as root, the hub as its
    service user, which could not open a root-owned 0600 database."""
    if not reference.exists():
        return
    info = reference.stat()
    if os.geteuid() == 0:
        os.chown(path, info.st_uid, info.st_gid)
    if reference.is_file():
        os.chmod(path, stat.S_IMODE(info.st_mode))


def _copy_database(source: Path, target: Path, *, readonly_source: bool) -> None:
    """A complete, consistent copy through SQLite's backup API, in rollback-journal mode so it
    is a single self-contained file (the hub switches it back to WAL when it opens it)."""
    created: list[Path] = []
    if readonly_source:
        src, created = _open_readonly(source)
    else:
        src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
        _tidy(created)
    if check != "ok":
        raise RestoreError(f"the copy of {source} failed its check: {check}")
    _fsync(target)


def keep_current(db_path: Path, target: Path) -> Path:
    """Save the current database (with its write-ahead log content) as ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _copy_database(db_path, partial, readonly_source=False)
        partial.replace(target)
    except (sqlite3.DatabaseError, RestoreError):
        # Too damaged for SQLite to read (often why it is being restored): keep the raw files,
        # named so that SQLite would open them together again.
        partial.unlink(missing_ok=True)
        shutil.copy2(db_path, target)
        wal = _sidecar(db_path, "-wal")
        if wal.exists():
            shutil.copy2(wal, _sidecar(target, "-wal"))
    _same_owner(target, db_path)
    return target


def restore_database(source: Path, db_path: Path, *, keep_as: Path) -> RestoreResult:
    """Replace ``db_path`` with the backup at ``source``, keeping the current one as ``keep_as``.

    Raises :class:`RestoreError` (nothing changed) when the backup is not a sound hub database.
    """
    info = inspect_backup(source)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temp = db_path.with_name(db_path.name + ".restore-tmp")
    for stale in (temp, _sidecar(temp, "-journal")):
        stale.unlink(missing_ok=True)
    previous: Path | None = None
    try:
        _copy_database(source, temp, readonly_source=True)
        _same_owner(temp, db_path if db_path.exists() else db_path.parent)
        if db_path.exists():
            previous = keep_current(db_path, keep_as)
        for suffix in SIDECARS:
            _sidecar(db_path, suffix).unlink(missing_ok=True)
        os.replace(temp, db_path)
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"cannot copy {source}: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    _fsync(db_path.parent)  # the rename itself is durable only once the directory is synced
    return RestoreResult(
        database=str(db_path), previous=None if previous is None else str(previous), backup=info
    )
