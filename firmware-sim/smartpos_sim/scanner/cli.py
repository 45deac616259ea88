"""``smartpos-sim scanner``: a serial barcode scanner on a pseudo-terminal, as a process.

    smartpos-sim scanner --link LINK [--control-port N] [--suffix cr|lf|crlf]

LINK becomes a symlink to the pty's slave device: open it as the scanner's serial port. On
start the process prints ``{"event":"listening","tty":LINK,"control_port":M}`` to standard
error and runs until SIGTERM or SIGINT; the link is removed on exit.

Control port (127.0.0.1, one command per line):

* ``scan <code>`` sends the code, then the suffix, down the serial line (as a scanner in
  serial mode sends each read); answers ``ok``. The code is printable ASCII, kept as typed.
* ``status`` answers ``{"scans": n}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from smartpos_sim.linecontrol import LineControl, start_line_control
from smartpos_sim.pty_link import PtyTransport, open_pty_link
from smartpos_sim.runner import emit, run_service, stop_on_signals

SUFFIXES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
MAX_CODE = 7089  # the most a symbol carries (a QR code of digits); longer is a typo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scanner`` subcommand."""
    parser = subparsers.add_parser(
        "scanner",
        help="a barcode scanner on a pseudo-terminal",
        description="A simulated serial barcode scanner; scans are triggered on its control port.",
    )
    parser.add_argument("--link", required=True, help="symlink to create for the serial port")
    parser.add_argument(
        "--control-port", type=int, default=0, help="control port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--suffix", choices=tuple(SUFFIXES), default="cr", help="sent after each code")
    parser.set_defaults(run=run)


class Scanner(asyncio.Protocol):
    """The scanner's end of the serial line.

    Bytes from the host (configuration commands some scanners take) are read and ignored, so
    a host that writes to the port never fills the pty and blocks.
    """

    def __init__(self, suffix: bytes) -> None:
        self.suffix = suffix
        self.scans = 0
        self._transport: PtyTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, PtyTransport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def scan(self, code: str) -> str:
        """Send ``code`` and the suffix; returns the control answer."""
        if not code or len(code) > MAX_CODE:
            return f"error usage: scan <code> (1 to {MAX_CODE} characters)"
        if not all(" " <= char <= "~" for char in code):
            return "error the code must be printable ASCII"
        if self._transport is None:
            return "error the serial line is closed"
        # One write for code and suffix: the host reads the scan whole or not at all, as a
        # scanner's UART sends it back to back.
        self._transport.write(code.encode("ascii") + self.suffix)
        self.scans += 1
        return "ok"

    def execute(self, line: str) -> str:
        """Answer one control command line."""
        words = line.split(maxsplit=1)
        name = words[0].lower() if words else ""
        if name == "scan":
            return self.scan(words[1].strip() if len(words) > 1 else "")
        if name == "status" and len(words) == 1:
            return json.dumps({"scans": self.scans}, separators=(",", ":"))
        return f"error unknown command {line.strip()!r}"


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    return run_service(lambda: _serve(args))


async def _serve(args: argparse.Namespace) -> None:
    scanner = Scanner(SUFFIXES[args.suffix])
    control = await start_line_control(LineControl(scanner.execute), args.control_port)
    try:
        link = open_pty_link(args.link, scanner)
        try:
            stop = stop_on_signals()
            port = control.sockets[0].getsockname()[1]
            emit({"event": "listening", "tty": args.link, "control_port": port})
            await stop.wait()
        finally:
            link.close()
    finally:
        control.close()
