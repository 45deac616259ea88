"""``smartpos-sim terminal``: a card payment terminal (ZVT or nexo) as a process.

    smartpos-sim terminal --protocol zvt (--port N | --link LINK) [--control-port M]
    smartpos-sim terminal --protocol nexo --port N [--control-port M]
    both:                 [--terminal-id 52001233] [--ack-timeout-ms 5000 (ZVT acknowledgements)]

``--protocol zvt --port N`` listens on 127.0.0.1:N for an ECR speaking raw ZVT APDUs (a real
terminal's port is 20007); ``--link LINK`` makes LINK a symlink to a pty's slave, the
terminal's serial line (DLE frames, ACK/NAK, CRC-16/KERMIT; removed on exit).
``--protocol nexo --port N`` serves the Terminal API's JSON on ``http://127.0.0.1:N/nexo``
(plain HTTP: the simulator is a test fixture; real terminals use TLS). ``--port 0`` picks a
free port. On start the process prints
``{"event":"listening","protocol":P,"tty":LINK|null,"port":N|null,"control_port":M}`` to
standard error and runs until SIGTERM or SIGINT.

The control port (127.0.0.1) scripts the next transactions and shows the journal.
One command per line, each answered with one line: ``ok``, ``error <message>`` or JSON::

    next approve                 the next card transaction is approved (the default)
    next decline <hex code>      ... declined with that result code (``next decline 05``)
    next timeout                 ... hangs at "insert card": nothing more is said, the ECR's
                                 abort is not heard; it ends unbooked when the ECR's link
                                 closes or after ``hang`` ms
    next abort                   ... is aborted on the terminal (card holder's abort key, 6C)
    next pin                     ... asks for the PIN ("enter PIN") before approving
    next drop [before]           ... is approved and booked, then the link drops before the
                                 terminal reports it (``before``: drops at "insert card",
                                 nothing booked)
    clear                        forget the scripted outcomes not used yet
    delay <ms>                   the host's authorisation time ("please wait"; not abortable)
    card <ms>                    how long the card holder takes to present the card (abortable)
    hang <ms>                    how long a ``timeout`` card step hangs
    print lines|block            ZVT receipts as print lines (06 D1) or a text block (06 D3)
    nak_next                     ZVT serial: NAK the ECR's next frame (it must send it again)
    transactions                 the journal as JSON, oldest first (``booked``: money moved)
    status                       protocol, hanging, pending scripts, timing, counters (ZVT:
                                 the registered config byte, NAKs sent, frames resent)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from typing import Any

from smartpos_sim.linecontrol import CONTROL_HOST, LineControl, start_line_control
from smartpos_sim.pty_link import PtyTransport, open_pty_link
from smartpos_sim.runner import emit, port_number, positive_int, run_service, stop_on_signals
from smartpos_sim.terminal.engine import Behaviour, Script, TerminalEngine
from smartpos_sim.terminal.zvt_device import ZvtConnection, ZvtSettings

MAX_MS = 600_000
BEHAVIOURS: tuple[Behaviour, ...] = ("approve", "decline", "timeout", "abort", "pin", "drop")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _milliseconds(args: list[str]) -> int | None:
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) > MAX_MS:
        return None
    return int(args[0])


class TerminalControl:
    """Runs control lines against the engine (and the ZVT settings, for the ZVT face)."""

    def __init__(self, protocol: str, engine: TerminalEngine, zvt: ZvtSettings | None = None) -> None:
        self.protocol = protocol
        self.engine = engine
        self.zvt = zvt

    def execute(self, line: str) -> str:
        """Run one command line; returns the answer line (without the newline)."""
        words = line.split()
        if not words:
            return "error empty command"
        name, args = words[0].lower(), [word.lower() for word in words[1:]]
        if name == "next":
            return self._next(args)
        if name in ("delay", "card", "hang"):
            value = _milliseconds(args)
            if value is None:
                return f"error usage: {name} <ms> (0..{MAX_MS})"
            setattr(self.engine, f"{name}_ms", value)
            return "ok"
        if name in ("print", "nak_next"):
            return self._zvt_switch(name, args)
        if args:
            return f"error usage: {name}"
        if name == "clear":
            self.engine.scripts.clear()
            return "ok"
        if name == "transactions":
            return _json(self.engine.transactions_json())
        if name == "status":
            return _json(self._status())
        return f"error unknown command {line.strip()!r}"

    def _next(self, args: list[str]) -> str:
        if not args or args[0] not in BEHAVIOURS:
            return f"error usage: next {'|'.join(BEHAVIOURS)}"
        behaviour = BEHAVIOURS[BEHAVIOURS.index(args[0])]  # typed as a Behaviour
        if behaviour == "decline":
            try:
                code = int(args[1], 16) if len(args) == 2 else -1
            except ValueError:
                code = -1
            if not 1 <= code <= 0xFF:
                return "error usage: next decline <hex result code 01..FF>"
            self.engine.scripts.append(Script("decline", code))
            return "ok"
        if behaviour == "drop" and args[1:] in ([], ["before"], ["after"]):
            self.engine.scripts.append(Script("drop", drop_before=args[1:] == ["before"]))
            return "ok"
        if len(args) != 1:
            return f"error usage: next {behaviour}"
        self.engine.scripts.append(Script(behaviour))
        return "ok"

    def _zvt_switch(self, name: str, args: list[str]) -> str:
        if self.zvt is None:
            return f"error {name} is a ZVT switch; this terminal speaks {self.protocol}"
        if name == "nak_next":
            if args:
                return "error usage: nak_next"
            self.zvt.nak_next = True
            return "ok"
        if args not in (["lines"], ["block"]):
            return "error usage: print lines|block"
        self.zvt.print_mode = "lines" if args == ["lines"] else "block"
        return "ok"

    def _status(self) -> dict[str, Any]:
        engine = self.engine
        status: dict[str, Any] = {
            "protocol": self.protocol,
            "terminal_id": engine.terminal_id,
            "hanging": engine.hanging,
            "scripts": [script.behaviour for script in engine.scripts],
            "delay_ms": engine.delay_ms,
            "card_ms": engine.card_ms,
            "hang_ms": engine.hang_ms,
            "last_own_ms": engine.last_own_ms,
            "counters": dict(engine.counters),
        }
        if self.zvt is not None:
            status.update(
                config=f"{self.zvt.config:02X}",
                print=self.zvt.print_mode,
                nak_next=self.zvt.nak_next,
                naks=self.zvt.naks,
                resends=self.zvt.resends,
            )
        return status


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``terminal`` subcommand."""
    parser = subparsers.add_parser(
        "terminal",
        help="a card payment terminal (ZVT over TCP or serial, nexo JSON over HTTP)",
        description="A simulated card payment terminal with scripted outcomes and a journal.",
    )
    parser.add_argument("--protocol", required=True, choices=("zvt", "nexo"), help="ECR interface")
    link = parser.add_mutually_exclusive_group(required=True)
    link.add_argument("--port", type=port_number, help="TCP port on 127.0.0.1 (0 picks a free one)")
    link.add_argument("--link", help="symlink to create for the serial line (ZVT only)")
    parser.add_argument(
        "--control-port", type=port_number, default=0, help="control port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--terminal-id", type=_terminal_id, default="52001233", help="8 digits")
    parser.add_argument(
        "--ack-timeout-ms", type=positive_int, default=5000, help="ZVT: wait for the ECR's acknowledgements"
    )
    parser.set_defaults(run=run)


def _terminal_id(text: str) -> str:
    if not re.fullmatch(r"[0-9]{8}", text):
        raise argparse.ArgumentTypeError(f"a terminal id has 8 digits, got {text!r}")
    return text


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    if args.protocol == "nexo" and args.link:
        emit({"event": "error", "message": "nexo runs over HTTP: use --port, not --link"})
        return 2
    return run_service(lambda: _serve(args))


async def _serve(args: argparse.Namespace) -> None:
    engine = TerminalEngine(args.terminal_id)
    settings = ZvtSettings(ack_timeout=args.ack_timeout_ms / 1000) if args.protocol == "zvt" else None
    listening: dict[str, Any] = {"event": "listening", "protocol": args.protocol, "tty": None, "port": None}
    pty: PtyTransport | None = None
    server: asyncio.Server | None = None
    control: asyncio.Server | None = None
    runner: Any = None
    try:
        if settings is None:
            from smartpos_sim.terminal.nexo_server import NexoTerminalSim, serve_nexo  # aiohttp: only here

            runner, listening["port"] = await serve_nexo(NexoTerminalSim(engine), CONTROL_HOST, args.port)
        elif args.link:
            connection = ZvtConnection(engine, settings, serial=True)
            pty = open_pty_link(args.link, connection, {"peername": ("tty", args.link)})
            listening["tty"] = args.link
        else:
            loop = asyncio.get_running_loop()
            # 127.0.0.1 only: a simulated terminal is a test fixture, never a LAN service.
            server = await loop.create_server(
                lambda: ZvtConnection(engine, settings, serial=False), CONTROL_HOST, args.port
            )
            listening["port"] = server.sockets[0].getsockname()[1]
        # The control port opens last: a caller that waits for it finds the terminal ready.
        control = await start_line_control(
            LineControl(TerminalControl(args.protocol, engine, settings).execute), args.control_port
        )
        listening["control_port"] = control.sockets[0].getsockname()[1]
        stop = stop_on_signals()
        emit(listening)
        await stop.wait()
    finally:
        for closing in (server, control):
            if closing is not None:
                closing.close()
        if pty is not None:
            pty.close()
        if runner is not None:
            await runner.cleanup()
