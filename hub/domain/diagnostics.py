"""The diagnostics bundle a technician sends to support: one tar.gz built from plain data.

Two callers gather the data differently and share this builder: the daemon
(``GET /api/v1/diagnostics``, with live device status and its recent log records) and the CLI
when the daemon is down (config file and database read directly, read-only). Everything here
takes and returns plain values, so neither caller needs the other's layer.

Secrets never leave the box: :func:`build_archive` redacts the config itself rather than
trusting each caller to have done it.
"""

from __future__ import annotations

import io
import json
import platform
import re
import sqlite3
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec

from hub.db.database import migration_scripts

REDACTED = "***"
# A key is secret when one of its words (split on _ - .) is one of these: "api_key" and
# "auth_token" are, "keepalive_s" and "tokenizer" are not.
_SECRET_WORDS = frozenset({"password", "passwd", "secret", "token", "key", "apikey", "psk", "credentials"})
LIBRARIES = (
    "aiohttp",
    "aiosqlite",
    "pyserial",
    "pyserial-asyncio",
    "pyusb",
    "bleak",
    "zeroconf",
    "paho-mqtt",
    "msgspec",
    "python-escpos",
)
MANIFEST = "manifest.json"
INTEGRITY_ROWS = 100  # PRAGMA integrity_check stops after this many problems


class IntegrityReport(msgspec.Struct, frozen=True, kw_only=True):
    """The database file's health: SQLite's integrity check and the schema it carries."""

    ok: bool
    result: str
    path: str
    size_bytes: int | None = None
    schema_version: int | None = None
    expected_schema: int = 0
    hub_id: str | None = None


class DiagnosticsInput(msgspec.Struct, kw_only=True):
    """What goes into the bundle; ``config`` is the effective config, not yet redacted."""

    source: Literal["daemon", "offline"]
    hub_name: str
    created_at: str
    config: dict[str, Any]
    versions: dict[str, Any]
    devices: list[dict[str, Any]]
    recent_errors: list[dict[str, Any]]
    integrity: IntegrityReport
    sync: dict[str, Any] | None = None
    notes: list[str] = []


def is_secret_key(name: str) -> bool:
    return any(word in _SECRET_WORDS for word in re.split(r"[_\-.\s]+", name.lower()))


def redact(value: Any) -> Any:
    """A copy with every secret-named value replaced by ``***``.

    An empty secret stays empty: "no password set" is itself a useful finding for support.
    """
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if is_secret_key(str(k)) and v not in ("", None) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value else "nan"  # repr(inf) is "inf", as TOML spells it
    if isinstance(value, str):
        # JSON string escapes are a subset of TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None
        )
        return "{" + (f" {items} " if items else "") + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _toml_table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    # TOML wants a table's plain keys before its sub-tables; None has no TOML spelling, so it is left out.
    for key, value in table.items():
        if value is not None and not isinstance(value, Mapping) and not _is_table_array(value):
            lines.append(f"{_toml_key(str(key))} = {_toml_value(value)}")
    for key, value in table.items():
        sub = [*path, _toml_key(str(key))]
        if isinstance(value, Mapping):
            lines += ["", f"[{'.'.join(sub)}]"]
            _toml_table(lines, sub, value)
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{'.'.join(sub)}]]"]
                _toml_table(lines, sub, item)


def to_toml(data: Mapping[str, Any]) -> str:
    """Encode the config's plain data as TOML (tables, arrays of tables, scalars, lists).

    The standard library reads TOML but does not write it; the config's shape is small and
    known, so this covers it rather than adding a dependency for one support file.
    """
    lines: list[str] = []
    _toml_table(lines, [], data)
    return "\n".join(lines).lstrip("\n") + "\n"


def collect_versions(hub_version: str) -> dict[str, Any]:
    """The hub's, Python's, the OS's and the key libraries' versions."""
    # importlib.metadata and tarfile load here, not at start-up: the daemon imports this module
    # for an API route it may never serve, and every megabyte counts on a Pi-class box.
    from importlib import metadata

    libraries: dict[str, str] = {}
    for name in LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libraries[name] = "not installed"
    return {
        "hub": hub_version,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": libraries,
    }


def _readonly(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    conn.row_factory = sqlite3.Row
    return conn


def check_database(path: Path) -> IntegrityReport:
    """``PRAGMA integrity_check`` on the hub database, read-only; never raises.

    Blocking (the check reads every page): the daemon runs it in a thread. Read-only and on
    its own connection, so in WAL mode it runs beside a live hub without holding up its writes.
    """
    expected = len(migration_scripts())
    if not path.exists():
        return IntegrityReport(
            ok=False, result=f"no database at {path}", path=str(path), expected_schema=expected
        )
    size = path.stat().st_size
    try:
        conn = _readonly(path)
        try:
            rows = conn.execute(f"PRAGMA integrity_check({INTEGRITY_ROWS})").fetchall()
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
            hub_id: str | None = None
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
                row = conn.execute("SELECT value FROM meta WHERE key = 'hub_id'").fetchone()
                hub_id = None if row is None else str(row[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return IntegrityReport(ok=False, result=f"cannot check: {exc}", path=str(path), size_bytes=size,
                               expected_schema=expected)  # fmt: skip
    result = "\n".join(str(row[0]) for row in rows)
    return IntegrityReport(ok=result == "ok", result=result, path=str(path), size_bytes=size,
                           schema_version=schema, expected_schema=expected, hub_id=hub_id)  # fmt: skip


def read_offline_state(
    path: Path, configured: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """With the daemon down: the configured devices with their last reported status, and the
    cloud backlog, both from the database (read-only). Errors are reported, not raised."""
    devices = [{**device, "status": "unknown (hub not running)"} for device in configured]
    sync: dict[str, Any] = {}
    try:
        conn = _readonly(path)
        try:
            # The newest device.status fact per device is the last status the hub saw.
            last = conn.execute(
                "SELECT payload FROM outbox WHERE seq IN (SELECT MAX(seq) FROM outbox "
                "WHERE type = 'device.status' GROUP BY json_extract(payload, '$.device_id'))"
            ).fetchall()
            sync["backlog"] = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"
            ).fetchone()[0]
            sync["last_delivered_seq"] = conn.execute(
                "SELECT MAX(seq) FROM outbox WHERE delivered_at IS NOT NULL"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        sync["error"] = f"cannot read the database: {exc}"
        return devices, sync
    seen = {fact["device_id"]: fact for fact in (json.loads(row["payload"]) for row in last)}
    for device in devices:
        fact = seen.get(device.get("id", ""))
        if fact is not None:
            device["last_status"] = {k: fact.get(k) for k in ("status", "details", "at")}
    return devices, sync


def archive_name(hub_name: str, at: datetime) -> str:
    """``smartpos-diagnostics-<hub>-<UTC stamp>.tar.gz``, safe as a file name and a header value."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", hub_name).strip("-.") or "hub"
    return f"smartpos-diagnostics-{safe}-{at.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def _integrity_text(report: IntegrityReport) -> bytes:
    schema = "unknown" if report.schema_version is None else str(report.schema_version)
    lines = [
        report.result,
        "",
        f"database: {report.path}" + ("" if report.size_bytes is None else f" ({report.size_bytes} bytes)"),
        f"schema version: {schema} (this hub knows {report.expected_schema})",
        f"hub id: {report.hub_id or 'unknown'}",
    ]
    return ("\n".join(lines) + "\n").encode()


def build_archive(data: DiagnosticsInput) -> bytes:
    """The tar.gz bytes. Blocking (compression): the daemon runs it in a thread."""
    manifest = {
        "source": data.source,
        "hub_name": data.hub_name,
        "created_at": data.created_at,
        "integrity_ok": data.integrity.ok,
        "notes": data.notes,
    }
    members = {
        MANIFEST: _json(manifest),
        "config.toml": to_toml(redact(data.config)).encode(),
        "versions.json": _json(data.versions),
        "devices.json": _json(data.devices),
        "recent_errors.json": _json(data.recent_errors),
        "integrity.txt": _integrity_text(data.integrity),
        "sync.json": _json(data.sync if data.sync is not None else {"available": False}),
    }
    import tarfile

    buffer = io.BytesIO()
    mtime = time.time()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), mtime, 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def read_manifest(archive: bytes) -> dict[str, Any]:
    """The manifest of a bundle; raises ValueError when the bytes are not one."""
    import tarfile

    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as bundle:
            member = bundle.extractfile(MANIFEST)
            if member is None:
                raise ValueError(f"no {MANIFEST} in the bundle")
            manifest: dict[str, Any] = json.loads(member.read())
            return manifest
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a diagnostics bundle: {exc}") from None
