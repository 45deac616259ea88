"""``smartpos-sim printer``: a simulated ESC/POS network printer as a process.

    smartpos-sim printer [--host 127.0.0.1] --port N [--control-port M] [--output PATH|-]
                         [--paper-speed MM_PER_S] [--buffer-size BYTES] [--width-chars 48]

On start it prints one JSON line to standard error,
``{"event":"listening","port":N,"control_port":M}`` with the real port numbers (0 picks free
ones), and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``printer`` subcommand."""
    parser = subparsers.add_parser(
        "printer",
        help="an ESC/POS network printer",
        description="A simulated ESC/POS network printer (raw TCP) with a control port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address the data port binds to")
    parser.add_argument("--port", type=int, default=9100, help="data port (0 picks a free one)")
    parser.add_argument(
        "--control-port", type=int, default=0, help="control port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--output", default="-", help="paper file, appended to (- for stdout)")
    parser.add_argument("--paper-speed", type=_non_negative, default=0.0, help="mm/s; 0 prints instantly")
    parser.add_argument("--buffer-size", type=_positive, default=65536, help="receive buffer, bytes")
    parser.add_argument("--width-chars", type=_positive, default=48, help="characters per line (font A)")
    parser.set_defaults(run=run)


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    try:
        asyncio.run(_serve(args))
    except OSError as exc:  # the port is taken, the address is not ours ...
        print(
            json.dumps({"event": "error", "message": str(exc)}, separators=(",", ":")),
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0


async def _serve(args: argparse.Namespace) -> None:
    from smartpos_sim.printer.control import start_control_server
    from smartpos_sim.printer.engine import Printer
    from smartpos_sim.printer.paper import PaperWriter
    from smartpos_sim.printer.server import close_connections, start_data_server

    paper = PaperWriter.open(args.output)
    printer = Printer(
        paper,
        speed_mm_s=args.paper_speed,
        buffer_size=args.buffer_size,
        width_chars=args.width_chars,
    )
    engine = asyncio.create_task(printer.run(), name="print-engine")
    servers: list[asyncio.Server] = []
    try:
        servers.append(await start_data_server(printer, args.host, args.port))
        servers.append(await start_control_server(printer, args.control_port))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        ports = [server.sockets[0].getsockname()[1] for server in servers]
        listening = {"event": "listening", "port": ports[0], "control_port": ports[1]}
        print(json.dumps(listening, separators=(",", ":")), file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        close_connections(printer)
        engine.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine
        paper.close()
