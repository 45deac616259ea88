"""``smartpos-sim sdc``: a simulated TaxCore SDC (Serbia's fiscal signing service), as a process.

    smartpos-sim sdc --port N [--host 127.0.0.1] [--uid SIMSDC01] [--tax LABEL=RATE[:NAME] ...]

It speaks the SDC's JSON API over HTTP and binds loopback addresses only. On start it prints
``{"event":"listening","port":N}`` to standard error (``--port 0`` picks a free port) and runs
until SIGTERM or SIGINT.

SDC endpoints:

* ``POST /api/v3/invoices`` signs an invoice (see :mod:`smartpos_sim.sdc.engine`); a bad body
  is answered ``400`` with ``modelState`` (see :mod:`smartpos_sim.sdc.validation`).
* ``GET /api/v3/invoices/{requestId}`` returns the answer given to that RequestId, or ``404``.
* ``GET /api/v3/status`` and ``GET /api/v3/attention``: the SDC's status and "are you there".

Simulator endpoints (no SDC has them):

* ``GET /sim/invoices`` lists every signature made, in order (one entry per signature).
* ``POST /sim/faults`` with ``{"fail": n, "drop": n, "slow": n, "slow_seconds": s}`` arms
  faults for the next ``n`` invoice requests each: ``fail`` answers ``500`` before signing
  anything; ``drop`` signs and then closes the connection without answering (the answer is
  lost, the invoice exists); ``slow`` signs and answers only after ``slow_seconds``.
  ``GET /sim/faults`` shows what is still armed.
"""

from __future__ import annotations

import argparse
import ipaddress
from decimal import Decimal, InvalidOperation

from smartpos_sim.runner import emit, run_service, stop_on_signals
from smartpos_sim.sdc.engine import DEFAULT_TAXES, Identity, Sdc, TaxRate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sdc`` subcommand."""
    parser = subparsers.add_parser(
        "sdc",
        help="a TaxCore SDC (Serbian fiscal signing service)",
        description="A simulated TaxCore SDC: POST /api/v3/invoices, with fault switches.",
    )
    parser.add_argument("--host", type=_loopback, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0 picks a free one)")
    parser.add_argument("--uid", default="SIMSDC01", help="secure element UID (requestedBy, signedBy)")
    parser.add_argument("--tin", default="100000001", help="taxpayer's TIN (PIB)")
    parser.add_argument(
        "--tax",
        action="append",
        type=_tax,
        metavar="LABEL=RATE[:NAME]",
        help="a tax label the SDC knows (repeat; default: Ђ=20, Е=10, Г=0, А=0)",
    )
    parser.set_defaults(run=run)


def _loopback(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an IP address, got {text}") from None
    if not address.is_loopback:
        raise argparse.ArgumentTypeError(f"the simulator binds loopback addresses only, got {text}")
    return str(address)


def _tax(text: str) -> TaxRate:
    label, _, rest = text.partition("=")
    rate_text, _, name = rest.partition(":")
    try:
        rate = Decimal(rate_text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected LABEL=RATE[:NAME], got {text}") from None
    if not label or not rate.is_finite() or not 0 <= rate < 100:
        raise argparse.ArgumentTypeError(f"expected LABEL=RATE[:NAME] with 0 <= RATE < 100, got {text}")
    return TaxRate(label, rate, name or label)


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    return run_service(lambda: _serve(args))


async def _serve(args: argparse.Namespace) -> None:
    from aiohttp import web  # here, not at import: every simulator's start-up loads this module

    from smartpos_sim.sdc.server import Faults, build_app

    taxes = tuple(args.tax) if args.tax else DEFAULT_TAXES
    sdc = Sdc(Identity(uid=args.uid, tin=args.tin), taxes, verification_base="")
    # A request held by a "slow" fault must not hold up SIGTERM for aiohttp's default minute.
    runner = web.AppRunner(build_app(sdc, Faults()), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = runner.addresses[0][1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        sdc.verification_base = f"http://{host}:{port}/v"
        stop = stop_on_signals()
        emit({"event": "listening", "port": port})
        await stop.wait()
    finally:
        await runner.cleanup()
