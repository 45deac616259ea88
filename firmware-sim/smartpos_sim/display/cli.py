"""``smartpos-sim display``: a customer display on a pseudo-terminal, as a process.

    smartpos-sim display --link LINK [--protocol dmd|cd5220] [--control-port N]
                         [--columns 20] [--rows 2]

LINK becomes a symlink to the pty's slave device: open it as the display's serial port. On
start the process prints ``{"event":"listening","tty":LINK,"control_port":M}`` to standard
error and runs until SIGTERM or SIGINT; the link is removed on exit.

Control port (127.0.0.1, one command per line):

* ``status`` answers one JSON line: ``lines``, ``brightness``, ``writes`` (commands and
  characters acted on), ``unknown`` (bytes and commands skipped), ``protocol``.
* ``subscribe`` answers ``ok``, then streams ``{"event":"changed","lines":[...],
  "brightness":n}`` each time what the customer sees changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, cast

from smartpos_sim.display.parser import PROTOCOLS, DisplayParser, DisplayProtocol
from smartpos_sim.linecontrol import LineControl, Subscribers, start_line_control
from smartpos_sim.pty_link import open_pty_link
from smartpos_sim.runner import emit, positive_int, run_service, stop_on_signals


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``display`` subcommand."""
    parser = subparsers.add_parser(
        "display",
        help="a customer display on a pseudo-terminal",
        description="A simulated serial customer display (Epson DM-D or CD5220 commands).",
    )
    parser.add_argument("--link", required=True, help="symlink to create for the serial port")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="dmd", help="command set")
    parser.add_argument(
        "--control-port", type=int, default=0, help="control port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--columns", type=positive_int, default=20, help="characters per line")
    parser.add_argument("--rows", type=positive_int, default=2, help="lines")
    parser.set_defaults(run=run)


class Display(asyncio.Protocol):
    """The display's end of the serial line: every byte read goes to the parser."""

    def __init__(self, parser: DisplayParser) -> None:
        self.parser = parser
        self.events = Subscribers()

    def data_received(self, data: bytes) -> None:
        if self.parser.feed(data):
            lines, brightness = self.parser.state()
            self.events.emit({"event": "changed", "lines": lines, "brightness": brightness})

    def status(self) -> dict[str, Any]:
        lines, brightness = self.parser.state()
        return {
            "lines": lines,
            "brightness": brightness,
            "writes": self.parser.writes,
            "unknown": self.parser.unknown,
            "protocol": self.parser.protocol,
        }

    def execute(self, line: str) -> str:
        """Answer one control command line."""
        if line.split() == ["status"]:
            return json.dumps(self.status(), separators=(",", ":"))
        return f"error unknown command {line.strip()!r}"


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    return run_service(lambda: _serve(args))


async def _serve(args: argparse.Namespace) -> None:
    parser = DisplayParser(cast(DisplayProtocol, args.protocol), args.columns, args.rows)
    display = Display(parser)
    control = await start_line_control(LineControl(display.execute, display.events), args.control_port)
    try:
        link = open_pty_link(args.link, display)
        try:
            stop = stop_on_signals()
            port = control.sockets[0].getsockname()[1]
            emit({"event": "listening", "tty": args.link, "control_port": port})
            await stop.wait()
        finally:
            link.close()
    finally:
        control.close()
