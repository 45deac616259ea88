"""``smartpos-sim printer``: a simulated ESC/POS network printer as a process.

    smartpos-sim printer [--host 127.0.0.1] --port N [--control-port M] [--output PATH|-]
                         [--paper-speed MM_PER_S] [--buffer-size BYTES] [--width-chars 48]
                         [--serial LINK | --mdns NAME [--mdns-interface 127.0.0.1]
                                                      [--mdns-service pdl|ipp]]

On start it prints one JSON line to standard error,
``{"event":"listening","port":N,"control_port":M}`` with the real port numbers (0 picks free
ones), and runs until SIGTERM or SIGINT.

``--serial LINK`` puts the printer on a serial line instead of the TCP data port: a
pseudo-terminal whose slave device LINK points to (a symlink, removed on exit). The listening
line then has ``"port": null`` and ``"tty": LINK``.

``--mdns NAME`` advertises the data port as ``NAME._pdl-datastream._tcp.local.`` (or
``_ipp._tcp`` with ``--mdns-service ipp``), on the one interface address given, IPv4 only; the
listening line comes once the name is registered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smartpos_sim.printer.mdns import PrinterAdvert


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
    link = parser.add_mutually_exclusive_group()
    link.add_argument("--serial", metavar="LINK", help="serve a pty linked at LINK instead of TCP")
    link.add_argument("--mdns", metavar="NAME", help="advertise the data port over mDNS as NAME")
    parser.add_argument(
        "--mdns-interface", type=_ipv4, default="127.0.0.1", help="the one IPv4 address mDNS uses"
    )
    parser.add_argument(
        "--mdns-service", choices=("pdl", "ipp"), default="pdl", help="_pdl-datastream._tcp or _ipp._tcp"
    )
    parser.set_defaults(run=run)


def _ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an IPv4 address, got {text}") from None


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
    from smartpos_sim.printer.server import DataConnection, close_connections, start_data_server
    from smartpos_sim.pty_link import PtyTransport, open_pty_link

    paper = PaperWriter.open(args.output)
    printer = Printer(
        paper,
        speed_mm_s=args.paper_speed,
        buffer_size=args.buffer_size,
        width_chars=args.width_chars,
    )
    engine = asyncio.create_task(printer.run(), name="print-engine")
    servers: list[asyncio.Server] = []
    pty: PtyTransport | None = None
    advert: PrinterAdvert | None = None  # zeroconf is imported only when --mdns asks for it
    try:
        listening: dict[str, Any] = {"event": "listening", "port": None}
        if args.serial:
            # The same connection class as TCP: the pty is one client that never hangs up
            # (see pty_link), so framing, flow control and replies behave as on port 9100.
            pty = open_pty_link(args.serial, DataConnection(printer), {"peername": ("tty", args.serial)})
        else:
            servers.append(await start_data_server(printer, args.host, args.port))
            listening["port"] = servers[0].sockets[0].getsockname()[1]
        servers.append(await start_control_server(printer, args.control_port))
        listening["control_port"] = servers[-1].sockets[0].getsockname()[1]
        if pty is not None:
            listening["tty"] = args.serial
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.mdns:
            from smartpos_sim.printer.mdns import PrinterAdvert

            advert = PrinterAdvert(
                args.mdns,
                listening["port"],
                interface=args.mdns_interface,
                address=_advertised_address(args.host, args.mdns_interface),
                service=args.mdns_service,
            )
            await advert.start()
        print(json.dumps(listening, separators=(",", ":")), file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        if advert is not None:
            await advert.stop()
        for server in servers:
            server.close()
        close_connections(printer)
        if pty is not None:
            pty.close()  # already closed by close_connections unless it never attached
        engine.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine
        paper.close()


def _advertised_address(host: str, interface: str) -> str:
    """The data port's own IPv4 address when it is bound to one, else the mDNS interface's."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return interface
    return interface if address.is_unspecified else str(address)
