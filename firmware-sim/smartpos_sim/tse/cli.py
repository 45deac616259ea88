"""``smartpos-sim tse``: a simulated German TSE, a cloud TSS in the shape of fiskaly SIGN DE v2.

    smartpos-sim tse --port N [--host 127.0.0.1] [--tss-id UUID] [--client UUID=SERIAL ...]
                     [--api-key KEY] [--api-secret SECRET] [--token-ttl SECONDS]

It binds loopback addresses only, prints ``{"event":"listening","port":N,"tss_id":...,
"serial_number":...,"public_key":...}`` to standard error (``--port 0`` picks a free port) and
runs until SIGTERM or SIGINT. The TSS is initialised with a fresh ECDSA P-256 key at every
start and the clients given (by default one, :data:`DEFAULT_CLIENT`); state lives in memory.

Routes, fault switches and what is signed: :mod:`smartpos_sim.tse.server` and
:mod:`smartpos_sim.tse.engine`.
"""

from __future__ import annotations

import argparse
import ipaddress
import uuid

from smartpos_sim.runner import emit, run_service, stop_on_signals

DEFAULT_TSS = "5f0e7b5a-8f4f-4d35-9a43-3c1e1d6a0001"
DEFAULT_CLIENT = ("5f0e7b5a-8f4f-4d35-9a43-3c1e1d6a00c1", "SIM-KASSE-1")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tse`` subcommand."""
    parser = subparsers.add_parser(
        "tse",
        help="a German TSE (fiskaly SIGN DE v2-style cloud TSS)",
        description="A simulated cloud TSE: transactions signed with ECDSA P-256, with fault switches.",
    )
    parser.add_argument("--host", type=_loopback, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0 picks a free one)")
    parser.add_argument("--tss-id", type=_uuid, default=DEFAULT_TSS, help="the TSS's id")
    parser.add_argument(
        "--client",
        action="append",
        type=_client,
        metavar="UUID=SERIAL",
        help="a registered client (till) and its serial number (repeat; default one)",
    )
    parser.add_argument("--api-key", default="sim-api-key", help="the API key POST /api/v2/auth accepts")
    parser.add_argument("--api-secret", default="sim-api-secret", help="the API secret it accepts")
    parser.add_argument("--token-ttl", type=_positive, default=3600.0, help="access token lifetime, s")
    parser.set_defaults(run=run)


def _loopback(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an IP address, got {text}") from None
    if not address.is_loopback:
        raise argparse.ArgumentTypeError(f"the simulator binds loopback addresses only, got {text}")
    return str(address)


def _uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a UUID, got {text}") from None


def _client(text: str) -> tuple[str, str]:
    client_id, _, serial = text.partition("=")
    if not serial:
        raise argparse.ArgumentTypeError(f"expected UUID=SERIAL, got {text}")
    return _uuid(client_id), serial


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    return run_service(lambda: _serve(args))


async def _serve(args: argparse.Namespace) -> None:
    # Here, not at import: every simulator's start-up loads this module.
    from aiohttp import web

    from smartpos_sim.tse.engine import Tss
    from smartpos_sim.tse.server import Auth, Faults, build_app

    tss = Tss(args.tss_id, dict(args.client or [DEFAULT_CLIENT]))
    auth = Auth(args.api_key, args.api_secret, args.token_ttl)
    # A request held by a "slow" fault must not hold up SIGTERM for aiohttp's default minute.
    runner = web.AppRunner(build_app(tss, auth, Faults()), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
        stop = stop_on_signals()
        emit(
            {
                "event": "listening",
                "port": runner.addresses[0][1],
                "tss_id": tss.tss_id,
                "serial_number": tss.serial_number,
                "public_key": tss.public_key,
            }
        )
        await stop.wait()
    finally:
        await runner.cleanup()
