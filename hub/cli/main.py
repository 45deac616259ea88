"""``smartpos-hub``: run the daemon and look after it on the box.

Every command but ``serve`` talks to the running daemon over its local API with the admin
credential the daemon keeps in its data dir, so it must run as root or the service user.
``audit verify`` and ``audit export`` instead read the database file read-only, so they work
while the daemon is stopped.
Exit codes: 0 ok, 1 the operation failed, 2 bad usage or config, 3 the daemon is not running,
4 the credential was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from hub import __version__
from hub.cli.claim import add_claim_arguments, run_claim
from hub.cli.client import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, HubClient
from hub.cli.devices import register as add_device_commands
from hub.cli.maintenance import register as register_maintenance
from hub.cli.output import device_state, print_json, table
from hub.config import DEFAULT_CONFIG_PATH, ConfigError, HubConfig, load_config, parse_config
from hub.escpos_cache import use_persistent_escpos_cache

if TYPE_CHECKING:
    from hub.domain.audit import ReadOnlyStore

Command = Callable[[argparse.Namespace], int]


def _config(args: argparse.Namespace, *, required: bool, link: bool = True) -> HubConfig:
    path = Path(args.config or os.environ.get("SMARTPOS_CONFIG") or DEFAULT_CONFIG_PATH)
    if not required and not path.exists() and not args.config:
        return parse_config({})  # CLI on a box configured by environment only
    return load_config(path, link=link)


def _client(args: argparse.Namespace) -> HubClient:
    return HubClient.from_config(_config(args, required=False))


def cmd_serve(args: argparse.Namespace) -> int:
    from hub.logs import setup_logging

    config = _config(args, required=True)
    setup_logging(config.log.level, config.log.format)
    use_persistent_escpos_cache(config.data_dir)
    # Imported only now: the renderer's printer database must find its cache (above).
    from hub.app import Hub
    from hub.db.database import StorageError

    try:
        hub = Hub(config)
    except ConfigError as exc:
        raise CliError(f"config error: {exc}", EXIT_USAGE) from None
    try:
        asyncio.run(hub.run())
    except StorageError as exc:
        raise CliError(
            f"storage error: {exc}. Restore the newest file from <data_dir>/backups/ or move the database aside."
        ) from None
    except OSError as exc:
        raise CliError(
            f"cannot start: {exc.strerror or exc} (is another hub using port {config.api.port} or the data dir?)"
        ) from None
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _config(args, required=True)
    use_persistent_escpos_cache(None)  # a check must not create the data dir
    from hub.devices.registry import resolve_all

    specs = resolve_all(config.devices)
    print(
        f"config OK: {len(specs)} device(s), data dir {config.data_dir}, API {config.api.host}:{config.api.port}"
    )
    return EXIT_OK


def cmd_pair(args: argparse.Namespace) -> int:
    result = _client(args).request("POST", "/api/v1/pairing-codes")
    if args.json:
        print_json(result)
    else:
        print(f"Pairing code: {result['code']}")
        print(f"Enter it on the tablet before {result['expires_at']}. It works once.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    status = _client(args).request("GET", "/api/v1/status")
    if args.json:
        print_json(status)
        return EXIT_OK
    print(f"Hub        {status['name']} ({status['hub_id']})")
    print(f"Version    {status['version']} (schema {status['schema_version']})")
    print(f"Up since   {status['started_at']} ({status['uptime_s']:.0f} s)")
    print(f"API        {status['api']}, {status['websocket_clients']} websocket client(s)")
    print(f"Data dir   {status['data_dir']}")
    print()
    _print_devices(status["devices"])
    bad = [d for d in status["devices"] if d["status"] != "online"]
    return EXIT_FAILED if bad else EXIT_OK


def cmd_claim(args: argparse.Namespace) -> int:
    """Link the hub to the cloud; a broken link file must not stop a --force re-claim."""
    return run_claim(args, _config(args, required=False, link=False))


def cmd_sync_status(args: argparse.Namespace) -> int:
    """The cloud link: exit 1 when it is enabled but not connected."""
    status = _client(args).request("GET", "/api/v1/sync/status")
    if args.json:
        print_json(status)
    else:
        state = (
            "connected" if status["connected"] else ("DISCONNECTED" if status["enabled"] else "not claimed")
        )
        print(f"Cloud link   {state}  {status['broker']}")
        if status.get("hub_id"):
            print(
                f"Cloud hub    {status.get('hub_name') or '-'} ({status['hub_id']}), store {status['store']}"
            )
        print(f"Hub topics   {status['hub'] or '-'}  (session {status['session']})")
        print(f"Backlog      {status['backlog']} fact(s) waiting for the cloud")
        print(f"Last ack     seq {status['last_ack']} at {status['last_ack_at'] or '-'}")
        print(f"Config       applied version {status['applied_config_version']}")
        if status.get("config_error"):
            rejected = status.get("rejected_config_version") or 0
            which = f"version {rejected} rejected: " if rejected > status["applied_config_version"] else ""
            print(f"Config error {which}{status['config_error']}")
        if status["last_error"]:
            print(f"Last error   {status['last_error']}")
    return EXIT_FAILED if status["enabled"] and not status["connected"] else EXIT_OK


def _print_devices(devices: list[dict[str, Any]]) -> None:
    if not devices:
        print("No devices configured.")
        return
    rows = [
        (
            d["id"],
            d["kind"],
            _role(d),
            device_state(d),
            d["queued"],
            d["held"],
            d["failed"],
            d["url"],
            d["detail"] if d["status"] != "online" else "",
        )
        for d in devices
    ]
    print(table(rows, ["DEVICE", "KIND", "ROLE", "STATUS", "QUEUED", "HELD", "FAILED", "URL", "DETAIL"]))


def _role(device: dict[str, Any]) -> str:
    role = str(device.get("role") or "-")
    place = device.get("terminal") or device.get("station")
    return f"{role}@{place}" if place else role


def cmd_devices(args: argparse.Namespace) -> int:
    devices = _client(args).request("GET", "/api/v1/devices")["devices"]
    if args.json:
        print_json(devices)
    else:
        _print_devices(devices)
    return EXIT_OK


def cmd_jobs(args: argparse.Namespace) -> int:
    query = (
        [f"limit={args.limit}"]
        + ([f"device={args.device}"] if args.device else [])
        + ([f"state={args.state}"] if args.state else [])
    )
    jobs = _client(args).request("GET", "/api/v1/jobs?" + "&".join(query))["jobs"]
    if args.json:
        print_json(jobs)
    elif not jobs:
        print("No jobs.")
    else:
        rows = [
            (
                j["id"],
                j["device_id"],
                j["kind"],
                j["state"],
                j["attempts"],
                j["created_at"],
                j["reason"] or "",
            )
            for j in jobs
        ]
        print(table(rows, ["JOB", "DEVICE", "KIND", "STATE", "TRIES", "CREATED", "REASON"]))
    return EXIT_OK


def _report_job(args: argparse.Namespace, job: dict[str, Any], what: str) -> int:
    if args.json:
        print_json(job)
    elif job["state"] == "done":
        print(f"{what} on {job['device_id']}: done (job {job['id']}).")
    elif job["state"] in ("queued", "printing"):
        print(
            f"{what} on {job['device_id']}: still {job['state']} after {args.wait:.0f} s (job {job['id']})."
        )
    else:
        print(
            f"{what} on {job['device_id']}: {job['state']}: {job['reason']} (job {job['id']}).",
            file=sys.stderr,
        )
    return EXIT_OK if job["state"] == "done" else EXIT_FAILED


def cmd_print_test(args: argparse.Namespace) -> int:
    client = _client(args)
    job = client.request("POST", f"/api/v1/devices/{args.device}/test-page", {})
    return _report_job(args, client.wait_for_job(job, args.wait), "Test page")


def cmd_drawer(args: argparse.Namespace) -> int:
    client = _client(args)
    body = {"pin": args.pin, "reason": args.reason or "opened by technician (CLI)"}
    job = client.request("POST", f"/api/v1/devices/{args.device}/drawer", body)
    return _report_job(args, client.wait_for_job(job, args.wait), "Drawer kick")


def cmd_backup(args: argparse.Namespace) -> int:
    result = _client(args).request("POST", "/api/v1/backup")
    if args.json:
        print_json(result)
    else:
        print(f"Backup written: {result['path']} ({result['bytes']} bytes)")
    return EXIT_OK


def cmd_tokens(args: argparse.Namespace) -> int:
    tokens = _client(args).request("GET", "/api/v1/tokens")["tokens"]
    if args.json:
        print_json(tokens)
    else:
        rows = [(t["id"], t["name"], t["role"], t["created_at"], t["revoked_at"] or "live") for t in tokens]
        print(table(rows, ["ID", "NAME", "ROLE", "PAIRED", "STATE"]))
    return EXIT_OK


def cmd_unpair(args: argparse.Namespace) -> int:
    _client(args).request("DELETE", f"/api/v1/tokens/{args.token_id}")
    print(f"Token {args.token_id} revoked.")
    return EXIT_OK


def _audit_store(args: argparse.Namespace) -> ReadOnlyStore:
    """The hub database opened read-only, straight from the data dir in the config.

    Audit commands read the file rather than ask the daemon: they must work while it is stopped
    (after an incident, say), and a read-only handle cannot alter the evidence.
    """
    config = _config(args, required=False)
    use_persistent_escpos_cache(None)  # reading the log must not create the data dir
    from hub.app import DB_FILE
    from hub.domain.audit import ReadOnlyStore

    path = config.data_dir / DB_FILE
    try:
        return ReadOnlyStore(path)
    except (OSError, sqlite3.Error) as exc:
        raise CliError(f"cannot open the hub database {path}: {exc}", EXIT_USAGE) from None


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from hub.domain.audit import verify

    store = _audit_store(args)
    try:
        result = asyncio.run(verify(store))
    except sqlite3.Error as exc:
        raise CliError(f"cannot read the audit log: {exc}") from None
    finally:
        store.close()
    if args.json:
        print_json(msgspec.to_builtins(result))
    elif result.ok:
        legacy = f", {result.legacy_rows} pre-chain row(s) not sealed yet" if result.legacy_rows else ""
        head = f", head row {result.head_id} {result.head_hash}" if result.head_hash else ""
        print(f"audit log intact: {result.rows_checked} row(s) chained{head}{legacy}")
    else:
        print(f"audit log TAMPERED at row {result.first_bad_id}: {result.reason}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_audit_export(args: argparse.Namespace) -> int:
    from hub.domain.audit import export_csv

    store = _audit_store(args)
    try:
        text = asyncio.run(export_csv(store, since=args.since, until=args.until))
    except ValueError as exc:
        raise CliError(f"bad --from/--to: {exc}", EXIT_USAGE) from None
    except sqlite3.Error as exc:
        raise CliError(f"cannot read the audit log: {exc}") from None
    finally:
        store.close()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"audit log written to {args.out} ({text.count(chr(10)) - 1} row(s))")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"config file (default {DEFAULT_CONFIG_PATH} or $SMARTPOS_CONFIG)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser = argparse.ArgumentParser(prog="smartpos-hub", description="SmartPOS store hub", parents=[common])
    parser.add_argument("--version", action="version", version=f"smartpos-hub {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    add("serve", cmd_serve, "run the hub daemon")
    add("check-config", cmd_check_config, "validate the config file and exit")
    add("pair", cmd_pair, "print a one-time code to pair a tablet")
    add("status", cmd_status, "the hub and its devices at a glance")
    add_device_commands(
        add, add("devices", cmd_devices, "list devices with live status (adopt, remove)"), common, _client
    )
    jobs = add("jobs", cmd_jobs, "list recent print jobs")
    jobs.add_argument("--device")
    jobs.add_argument("--state", choices=["queued", "printing", "held", "done", "failed", "canceled", "open"])
    jobs.add_argument("--limit", type=int, default=20)
    test = add("print-test", cmd_print_test, "print a test page and wait for it")
    test.add_argument("device")
    test.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the page (default 30)")
    drawer = add("drawer", cmd_drawer, "open the cash drawer on a printer (audited)")
    drawer.add_argument("device")
    drawer.add_argument("--pin", type=int, choices=[2, 5], default=2)
    drawer.add_argument("--reason", default="")
    drawer.add_argument("--wait", type=float, default=15.0)
    add("backup", cmd_backup, "online backup of the hub database")
    add("tokens", cmd_tokens, "list paired tablets")
    register_maintenance(add)  # logs, diagnose, restore, reset-pairing (hub/cli/maintenance.py)
    unpair = add("unpair", cmd_unpair, "revoke a tablet's token")
    unpair.add_argument("token_id", type=int)
    audit = add("audit", cmd_audit_verify, "verify or export the hash-chained audit log (reads the DB file)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_sub.add_parser(
        "verify", parents=[common], help="check the hash chain; exit 1 naming the first bad row"
    ).set_defaults(func=cmd_audit_verify)
    export = audit_sub.add_parser("export", parents=[common], help="write the audit log as CSV")
    export.set_defaults(func=cmd_audit_export)
    export.add_argument("--out", required=True, metavar="FILE", help="CSV file to write ('-' for stdout)")
    export.add_argument("--from", dest="since", metavar="TIME", help="ISO time with zone, or a date")
    export.add_argument("--to", dest="until", metavar="TIME", help="ISO time with zone, or a date")
    add_claim_arguments(add("claim", cmd_claim, "link this hub to its store in the cloud with a claim code"))
    sync = add("sync", cmd_sync_status, "the cloud link (MQTT)")
    sync_sub = sync.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    sync_sub.add_parser(
        "status", parents=[common], help="connection, backlog, last ack and applied config version"
    ).set_defaults(func=cmd_sync_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.config = getattr(args, "config", None)
    args.json = getattr(args, "json", False)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"smartpos-hub: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"smartpos-hub: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
