"""``smartpos-hub claim CODE --cloud URL [--force]``: link this hub to its store in the cloud.

The exchange and the link file are :mod:`hub.sync.claim`'s; this module is the technician's
side: arguments, messages, exit codes, and telling a running daemon to pick the link up.
Exit codes as for every command: 0 claimed (and, if the daemon runs, it reloaded the link),
1 the claim or the reload failed, 2 bad usage (the URL, an empty code) or a bad config.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.cli.client import EXIT_FAILED, EXIT_NOT_RUNNING, EXIT_OK, EXIT_USAGE, CliError, HubClient
from hub.cli.output import print_json
from hub.config import HubConfig
from hub.sync.claim import DEFAULT_TIMEOUT_S, Claimed, ClaimError, ClaimUsageError, claim


def add_claim_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``claim`` command's arguments."""
    parser.add_argument("code", help="the one-time claim code the cloud showed when the hub was added")
    parser.add_argument(
        "--cloud", required=True, metavar="URL", help="the cloud's address, e.g. https://cloud.example.com"
    )
    parser.add_argument(
        "--force", action="store_true", help="claim again, replacing this hub's existing cloud link"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the cloud (default {DEFAULT_TIMEOUT_S:.0f})",
    )


def run_claim(args: argparse.Namespace, config: HubConfig) -> int:
    """Claim, write the link, then reload the running daemon's link (or say it applies at start)."""
    try:
        claimed = claim(config.data_dir, args.cloud, args.code, force=args.force, timeout=args.timeout)
    except ClaimUsageError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ClaimError as exc:
        raise CliError(f"claim failed: {exc}\nNothing was written.", EXIT_FAILED) from None
    reloaded, status, problem = _reload(config)
    if args.json:
        print_json(_summary(claimed, reloaded, status, problem))
    else:
        _report(claimed, reloaded, status, problem)
    return EXIT_FAILED if problem else EXIT_OK


def _reload(config: HubConfig) -> tuple[bool, dict[str, Any] | None, str]:
    """(reloaded, the new sync status, a problem to report): ask the daemon to use the new link."""
    try:
        status = HubClient.from_config(config).request("POST", "/api/v1/sync/reload")
    except CliError as exc:
        if exc.exit_code == EXIT_NOT_RUNNING:
            return False, None, ""  # stopped: the link applies at the next start
        return False, None, str(exc)
    return True, dict(status), ""


def _summary(claimed: Claimed, reloaded: bool, status: dict[str, Any] | None, problem: str) -> dict[str, Any]:
    return {
        "hub_id": claimed.hub_id,
        "hub_name": claimed.hub_name,
        "tenant": claimed.tenant,
        "store": claimed.store,
        "broker": claimed.broker,
        "link_file": str(claimed.link_file),
        "ca_file": str(claimed.ca_file) if claimed.ca_file else None,
        "reloaded": reloaded,
        "sync": status,
        "error": problem or None,
    }


def _report(claimed: Claimed, reloaded: bool, status: dict[str, Any] | None, problem: str) -> None:
    print(f"Claimed as hub {claimed.hub_name!r} ({claimed.hub_id})")
    print(f"Store        {claimed.store} (tenant {claimed.tenant})")
    print(f"Broker       {claimed.broker}")
    print(f"Link file    {claimed.link_file}")
    if claimed.ca_file is not None:
        print(f"Broker CA    {claimed.ca_file}")
    if problem:
        print(
            f"The running hub did not take the new link: {problem}\n"
            "Restart it to apply the link: systemctl restart smartpos-hub",
            file=sys.stderr,
        )
    elif reloaded and status is not None:
        state = "connected" if status.get("connected") else "connecting"
        print(f"The running hub reloaded its cloud link ({state}); see 'smartpos-hub sync status'.")
    else:
        print("The hub is not running: the link applies when it next starts.")
