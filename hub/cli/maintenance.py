"""Maintenance commands: ``logs``, ``diagnose``, ``restore`` and ``reset-pairing``.

``logs`` and ``reset-pairing`` talk to the running daemon. ``diagnose`` asks the daemon for its
bundle and, when it is down, builds one from the config and database file (read-only).
``restore`` works on the database file and refuses while the daemon runs.
Exit codes as in :mod:`hub.cli.main`, plus 5: the daemon is running and must be stopped first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from hub import __version__
from hub.cli.client import EXIT_FAILED, EXIT_NOT_RUNNING, EXIT_OK, EXIT_USAGE, CliError, HubClient, _api_error
from hub.cli.output import print_json, table
from hub.config import DEFAULT_CONFIG_PATH, HubConfig, load_config, parse_config
from hub.logs import RING_SIZE

EXIT_RUNNING = 5
# hub.app.DB_FILE, repeated rather than imported: restore and offline diagnose are the tools for
# a broken box and must not depend on the whole daemon importing (a test keeps the two equal).
DB_FILE = "hub.db"
FOLLOW_WAIT_S = 25.0  # each long-poll; below the API's 30 s limit
STOP_HINT = "stop the hub first: systemctl stop smartpos-hub"
AddCommand = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def _config(args: argparse.Namespace) -> HubConfig:
    path = Path(args.config or os.environ.get("SMARTPOS_CONFIG") or DEFAULT_CONFIG_PATH)
    if not path.exists() and not args.config:
        return parse_config({})  # a box configured by environment only
    return load_config(path)


def _db_path(config: HubConfig) -> Path:
    """The daemon's database file, read or replaced by the commands that work without it."""
    return (config.data_dir / DB_FILE).absolute()


def _confirm(question: str, args: argparse.Namespace) -> None:
    """Go on with ``--yes``, or after a "y" typed on a terminal; a script must pass ``--yes``."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CliError("not a terminal, so nothing to confirm with: pass --yes to go ahead", EXIT_USAGE)
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("cancelled; nothing was changed", EXIT_FAILED)


# --- logs -------------------------------------------------------------------------------------


def _log_line(record: dict[str, Any]) -> str:
    moment = datetime.fromisoformat(record["time"]).astimezone()
    when = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    fields = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) or ' ' in v else v}"
        for k, v in record.get("extra", {}).items()
    )
    device = f" [{record['device']}]" if record.get("device") else ""
    line = f"{when} {record['level'].upper():8}{device} {record['message']}" + (
        f" {fields}" if fields else ""
    )
    if record.get("exc"):
        line += "\n    " + record["exc"].replace("\n", "\n    ")
    return line


def _logs_query(args: argparse.Namespace, **params: Any) -> str:
    query = {"device": args.device, "level": args.level, **params}
    return "/api/v1/logs?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})


def _print_records(args: argparse.Namespace, records: list[dict[str, Any]]) -> None:
    for record in records:
        # flush: a follower is often piped into grep or less, which should see lines as they come.
        print(json.dumps(record, ensure_ascii=False) if args.json else _log_line(record), flush=True)


def cmd_logs(args: argparse.Namespace) -> int:
    if not 0 <= args.lines <= RING_SIZE:
        raise CliError(
            f"--lines must be between 0 and {RING_SIZE} (the hub keeps the last {RING_SIZE})", EXIT_USAGE
        )
    client = HubClient.from_config(_config(args))
    page = client.request("GET", _logs_query(args, limit=args.lines))
    _print_records(args, page["records"])
    if not args.follow:
        return EXIT_OK
    # Each request waits for new records on the hub, so a quiet hub costs a request per 25 s.
    follower = dataclasses.replace(client, timeout=FOLLOW_WAIT_S + 15.0)
    last_id = page["last_id"]
    while True:
        page = follower.request("GET", _logs_query(args, after=last_id, wait=FOLLOW_WAIT_S, limit=500))
        _print_records(args, page["records"])
        last_id = page["last_id"]


# --- diagnose ---------------------------------------------------------------------------------


def _download(client: HubClient, path: str, timeout: float) -> tuple[bytes, str]:
    """A binary answer (the bundle) and its Content-Disposition; errors as in HubClient.request."""
    request = urllib.request.Request(  # noqa: S310 - the URL is built from our config
        client.base_url + path, headers={"Authorization": f"Bearer {client.token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read(), response.headers.get("Content-Disposition", "")
    except urllib.error.HTTPError as exc:
        raise _api_error(exc) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise CliError(f"the hub at {client.base_url} is not reachable ({exc})", EXIT_NOT_RUNNING) from None


def _offline_bundle(config: HubConfig) -> tuple[bytes, str]:
    """The bundle built here from the config and the database file, for a hub that is down."""
    from hub.domain import diagnostics as diag

    at = datetime.now(UTC)
    db_path = _db_path(config)
    config_data: dict[str, Any] = msgspec.to_builtins(config)
    devices, sync = diag.read_offline_state(db_path, config_data["devices"])
    sync["config"] = diag.redact(config_data["sync"])
    data = diag.DiagnosticsInput(
        source="offline",
        hub_name=config.hub_name,
        created_at=at.isoformat(timespec="seconds"),
        config=config_data,
        versions=diag.collect_versions(__version__),
        devices=devices,
        recent_errors=[],
        integrity=diag.check_database(db_path),
        sync=sync,
        notes=[
            "built by the CLI with the hub not running: no live device status and no recent log "
            "records (see journalctl -u smartpos-hub)"
        ],
    )
    return diag.build_archive(data), diag.archive_name(config.hub_name, at)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from hub.domain.diagnostics import read_manifest

    config = _config(args)
    try:
        body, disposition = _download(HubClient.from_config(config), "/api/v1/diagnostics", timeout=120.0)
        match = re.search(r'filename="([^"/]+)"', disposition)
        name = match.group(1) if match else f"smartpos-diagnostics-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    except CliError as exc:
        if exc.exit_code != EXIT_NOT_RUNNING:
            raise
        print("smartpos-hub: the hub is not running; building the report from the config and database file.",
              file=sys.stderr)  # fmt: skip
        body, name = _offline_bundle(config)
    try:
        manifest = read_manifest(body)
    except ValueError as exc:
        raise CliError(f"the hub sent something that is not a diagnostics bundle: {exc}") from None
    out = Path(args.out) if args.out else Path.cwd() / name
    if out.is_dir():
        out = out / name
    try:
        out.write_bytes(body)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    summary = {"path": str(out.resolve()), "bytes": len(body), **manifest}
    if args.json:
        print_json(summary)
    else:
        origin = "built by the running hub" if manifest["source"] == "daemon" else "built from the files"
        print(f"Diagnostics written: {summary['path']} ({len(body)} bytes, {origin})")
        for note in manifest.get("notes", []):
            print(f"Note: {note}")
        if not manifest["integrity_ok"]:
            print("DATABASE INTEGRITY CHECK FAILED: see integrity.txt in the bundle.", file=sys.stderr)
    return EXIT_OK if manifest["integrity_ok"] else EXIT_FAILED


# --- restore ----------------------------------------------------------------------------------


def _api_answers(config: HubConfig) -> bool:
    """Whether something answers on the hub's API port (no credential needed for /healthz)."""
    host = config.api.host
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    try:
        urllib.request.urlopen(f"http://{host}:{config.api.port}/healthz", timeout=3.0).close()
    except urllib.error.HTTPError:
        return True  # an answer, even an error, means a server is there
    except urllib.error.URLError as exc:
        # Refused: nobody listens. A timeout may be a busy hub: assume it runs, to be safe.
        return isinstance(exc.reason, TimeoutError)
    except TimeoutError:
        return True
    return True


def _holders(db_path: Path) -> list[int]:
    """Processes with the database open: catches a hub whose API listens elsewhere (an
    environment override in its unit file, say). Linux /proc; processes we may not inspect are skipped."""
    real = db_path.resolve()  # /proc shows the real path, past any symlinked data dir
    targets = {str(p) for p in (real, real.with_name(real.name + "-wal"))}
    found: list[int] = []
    for proc in Path("/proc").glob("[0-9]*"):
        if int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in targets for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def cmd_restore(args: argparse.Namespace) -> int:
    from hub.db.restore import RestoreError, inspect_backup, restore_database

    config = _config(args)
    db_path = _db_path(config)
    if _api_answers(config):
        raise CliError(
            f"the hub is running (its API answers on port {config.api.port}); {STOP_HINT}", EXIT_RUNNING
        )
    holders = _holders(db_path)
    if holders:
        pids = ", ".join(map(str, holders))
        raise CliError(
            f"{db_path} is open in process {pids} (is the hub running?); {STOP_HINT}", EXIT_RUNNING
        )
    source = Path(args.file).absolute()
    try:
        info = inspect_backup(source)
    except RestoreError as exc:
        raise CliError(f"{exc}; nothing was changed") from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    keep_as = config.data_dir / "backups" / f"hub-before-restore-{stamp}.db"
    if not args.json:
        print(
            f"Backup   {source} ({info.size_bytes} bytes, schema {info.schema_version}, hub {info.hub_id or '?'})"
        )
        print(f"Replaces {db_path}" + (f"; the current one is kept as {keep_as}" if db_path.exists() else ""))
    _confirm("Restore this backup? Sales made since it was taken disappear from the hub.", args)
    try:
        result = restore_database(source, db_path, keep_as=keep_as)
    except RestoreError as exc:
        raise CliError(f"{exc}; nothing was changed") from None
    except OSError as exc:
        raise CliError(f"restore failed: {exc}; the current database is still in place") from None
    if args.json:
        print_json(dataclasses.asdict(result))
    else:
        print(f"Restored {result.database} from {source}.")
        if result.previous:
            print(f"The database it replaced is kept as {result.previous}.")
        print("Start the hub again: systemctl start smartpos-hub")
    return EXIT_OK


# --- reset-pairing ----------------------------------------------------------------------------


def cmd_reset_pairing(args: argparse.Namespace) -> int:
    client = HubClient.from_config(_config(args))
    _confirm("Unpair every tablet? Each must be paired again with a new code.", args)
    result = client.request("POST", "/api/v1/pairing/reset")
    if args.json:
        print_json(result)
        return EXIT_OK
    revoked = result["revoked"]
    if revoked:
        print(f"Revoked {len(revoked)} tablet token(s):")
        print(table([(t["id"], t["name"], t["created_at"], t["last_used_at"] or "-") for t in revoked],
                    ["ID", "NAME", "PAIRED", "LAST USED"]))  # fmt: skip
    else:
        print("No tablet was paired.")
    print(f"New pairing code: {result['code']} (valid until {result['expires_at']}, works once)")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the maintenance commands through ``build_parser``'s ``add(name, func, help)``."""
    logs = add("logs", cmd_logs, "the hub's recent log records (from the running daemon)")
    logs.add_argument("--device", metavar="ID", help="only records about this device")
    logs.add_argument(
        "--level", choices=["debug", "info", "warning", "error", "critical"], help="this level and above"
    )
    logs.add_argument(
        "--lines", type=int, default=50, metavar="N", help="show the last N records (default 50)"
    )
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new records until Ctrl-C")
    diagnose = add(
        "diagnose", cmd_diagnose, "save a tar.gz for support (secrets redacted); exit 1 if the DB is damaged"
    )
    diagnose.add_argument(
        "--out", metavar="FILE", help="where to write it (default: a dated name in this directory)"
    )
    restore = add(
        "restore", cmd_restore, f"replace the hub database with a backup file ({STOP_HINT}; exit 5 if not)"
    )
    restore.add_argument("file", metavar="FILE", help="a backup, e.g. <data_dir>/backups/hub-....db")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset = add("reset-pairing", cmd_reset_pairing, "unpair every tablet and print a new pairing code")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
