"""``smartpos-sim``: device simulators, each run as its own process.

    smartpos-sim printer --port 9100 --control-port 9101 --output paper.txt [--paper-speed 50]
    smartpos-sim printer --serial /tmp/ttyPRN --control-port 9101 --output paper.txt
    smartpos-sim printer --port 9100 --mdns "Front counter" [--mdns-interface 127.0.0.1]
    smartpos-sim display --link /tmp/ttyVFD [--protocol dmd|cd5220] [--control-port 9102]
    smartpos-sim scanner --link /tmp/ttySCN [--control-port 9103] [--suffix cr|lf|crlf]
    smartpos-sim fiscal --protocol datecs-x|datecs-c|tremol (--link /tmp/ttyFP | --port N)
    smartpos-sim sdc --port 8888 [--host 127.0.0.1] [--uid SIMSDC01] [--tax LABEL=RATE[:NAME]]
    smartpos-sim tse --port 8889 [--host 127.0.0.1] [--api-key K --api-secret S]
    smartpos-sim terminal --protocol zvt|nexo (--port N | --link LINK) [--control-port M]
    smartpos-sim scale --protocol toledo|sics|cas --link /tmp/ttySCL [--control-port 9104]

Each simulator lives in its own package and contributes one subcommand through a ``register``
function added to :data:`SIMULATORS`; the subcommand's ``run(args)`` returns the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from smartpos_sim.display import cli as display_cli
from smartpos_sim.fiscal import cli as fiscal_cli
from smartpos_sim.printer import cli as printer_cli
from smartpos_sim.scale import cli as scale_cli
from smartpos_sim.scanner import cli as scanner_cli
from smartpos_sim.sdc import cli as sdc_cli
from smartpos_sim.terminal import cli as terminal_cli
from smartpos_sim.tse import cli as tse_cli

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# One entry per simulator (fiscal, scale and terminal slot in here).
SIMULATORS: tuple[Register, ...] = (
    printer_cli.register,
    display_cli.register,
    scanner_cli.register,
    fiscal_cli.register,
    sdc_cli.register,
    tse_cli.register,
    scale_cli.register,
    terminal_cli.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartpos-sim", description="SmartPOS device simulators")
    subparsers = parser.add_subparsers(dest="device", required=True, metavar="DEVICE")
    for register in SIMULATORS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
