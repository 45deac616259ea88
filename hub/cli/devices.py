"""Technician commands for the device fleet: ``discover``, ``devices adopt|remove``, ``test``,
``display``. Each is a thin call to the daemon's API; the rules live in the daemon."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from hub.cli.client import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, HubClient
from hub.cli.output import device_state, print_json, table

ClientFactory = Callable[[argparse.Namespace], HubClient]
Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]

ROLES = (
    "receipt_printer",
    "kitchen_printer",
    "label_printer",
    "customer_display",
    "scanner",
    "payment_terminal",
    "scale",
)


def _ids(found: dict[str, Any]) -> str:
    parts = []
    if found.get("vendor_id") is not None:
        parts.append(f"{found['vendor_id']:04x}:{found['product_id']:04x}")
    if found.get("serial"):
        parts.append(f"serial {found['serial']}")
    if found.get("services"):
        parts.append(",".join(found["services"]))
    return " ".join(parts)


def print_found(found: list[dict[str, Any]]) -> None:
    if not found:
        print("Nothing found on the watched buses.")
        return
    rows = [
        (
            f["id"],
            f["bus"],
            f["name"][:32],
            f"{f['kind']}/{f['driver']}" if f["supported"] else "unsupported",
            f["adopted_as"] or "-",
            _ids(f),
        )
        for f in found
    ]
    print(table(rows, ["FOUND", "BUS", "NAME", "DRIVER", "ADOPTED AS", "IDS"]))


def make_commands(client: ClientFactory) -> dict[str, Callable[[argparse.Namespace], int]]:
    """The command functions, bound to the CLI's way of reaching the daemon."""

    def discover(args: argparse.Namespace) -> int:
        result = client(args).request("GET", "/api/v1/discovery?refresh=true")
        if args.json:
            print_json(result)
            return EXIT_OK
        print(f"Watching: {', '.join(result['buses']) or 'nothing'}")
        print_found(result["found"])
        unsupported = sum(1 for f in result["found"] if not f["supported"])
        if unsupported:
            print(
                f"\n{unsupported} device(s) no driver supports; adopt with --kind and --driver to force one."
            )
        return EXIT_OK

    def adopt(args: argparse.Namespace) -> int:
        body: dict[str, Any] = {"role": args.role} if args.role else {}
        if args.found.startswith(("tcp://", "serial://", "usb://", "ble://")):
            body["url"] = args.found
        else:
            body["found_id"] = args.found
        for name in ("id", "kind", "driver", "name", "terminal", "station"):
            value = getattr(args, f"device_{name}" if name == "id" else name)
            if value:
                body[name] = value
        options: dict[str, Any] = {}
        for item in args.option or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise CliError(f"--option wants KEY=VALUE, got {item!r}", EXIT_USAGE)
            options[key] = _option_value(value)
        if options:
            body["options"] = options
        device = client(args).request("POST", "/api/v1/devices", body)
        if args.json:
            print_json(device)
        else:
            place = device["terminal"] or device["station"]
            role = f" as {device['role']}" + (f" of {place}" if place else "") if device["role"] else ""
            print(f"Adopted {device['id']} ({device['kind']}/{device['driver']}){role}: {device['url']}")
        return EXIT_OK

    def remove(args: argparse.Namespace) -> int:
        result = client(args).request("DELETE", f"/api/v1/devices/{args.device}")
        print_json(result) if args.json else print(f"Removed {result['removed']}.")
        return EXIT_OK

    def test(args: argparse.Namespace) -> int:
        hub = client(args)
        result = hub.request("POST", f"/api/v1/devices/{args.device}/test", {})
        if result.get("job_id") is not None:
            job = hub.wait_for_job(hub.request("GET", f"/api/v1/jobs/{result['job_id']}"), args.wait)
            result["job_state"], result["job_reason"] = job["state"], job.get("reason")
            ok = job["state"] == "done"
            result["detail"] = (
                "test page printed" if ok else f"test page {job['state']}: {job.get('reason') or ''}"
            )
        else:
            ok = result["status"] == "online"
        if args.json:
            print_json(result)
        else:
            print(
                f"{args.device} ({result['kind']}, {result['status']}): {result['detail']}",
                file=sys.stdout if ok else sys.stderr,
            )
        return EXIT_OK if ok else EXIT_FAILED

    def display(args: argparse.Namespace) -> int:
        device = client(args).request("POST", f"/api/v1/devices/{args.device}/display", {"lines": args.text})
        if args.json:
            print_json(device)
        else:
            print(f"{device['id']} ({device_state(device)}): showing {' / '.join(args.text)}")
        return EXIT_OK if device["status"] == "online" else EXIT_FAILED

    return {"discover": discover, "adopt": adopt, "remove": remove, "test": test, "display": display}


def _option_value(text: str) -> Any:
    """``--option drawer=false`` and ``--option columns=20`` get their JSON types."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def register(
    add: Add, devices: argparse.ArgumentParser, common: argparse.ArgumentParser, client: ClientFactory
) -> None:
    """Add ``discover``, ``test``, ``display`` and the ``devices`` subcommands to the parser."""
    commands = make_commands(client)
    add("discover", commands["discover"], "what is on USB, serial, mDNS and BLE, and which driver takes it")
    sub = devices.add_subparsers(dest="devices_command", required=False, metavar="ACTION")
    adopt = sub.add_parser("adopt", parents=[common], help="adopt a discovered device with a role")
    adopt.set_defaults(func=commands["adopt"])
    adopt.add_argument("found", metavar="FOUND_ID|URL", help="an id from `discover`, or a transport URL")
    adopt.add_argument("--role", choices=ROLES)
    adopt.add_argument(
        "--terminal", default="", help="the terminal a receipt printer, display or scanner serves"
    )
    adopt.add_argument("--station", default="", help="the station a kitchen printer serves")
    adopt.add_argument("--id", dest="device_id", default="", help="device id (default: from role and place)")
    adopt.add_argument("--kind", default="", help="force a kind (for a device no driver claims)")
    adopt.add_argument("--driver", default="", help="force a driver")
    adopt.add_argument("--name", default="")
    adopt.add_argument("--option", action="append", metavar="KEY=VALUE", help="driver option, repeatable")
    remove = sub.add_parser("remove", parents=[common], help="stop and forget an adopted device")
    remove.set_defaults(func=commands["remove"])
    remove.add_argument("device")
    test = add(
        "test", commands["test"], "run the test suited to a device (test page, display pattern, scanner)"
    )
    test.add_argument("device")
    test.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a test page (default 30)")
    display = add("display", commands["display"], "show text on a customer display")
    display.add_argument("device")
    display.add_argument("text", nargs="+", help="one argument per line")
