"""``smartpos-sim fiscal``: a fiscal printer on a pseudo-terminal or a TCP port, as a process.

    smartpos-sim fiscal --protocol datecs-x|datecs-c|tremol (--link LINK | --port N)
                        [--control-port M] [--delay-ms 0] [--serial-number DT123456]
                        [--fm-number 02123456] [--first-number 1]

``--link LINK`` makes LINK a symlink to a pty's slave: open it as the printer's serial port
(removed on exit). ``--port N`` listens on 127.0.0.1:N instead (0 picks a free port; Tremol's
LAN password exchange is not simulated). On start the process prints
``{"event":"listening","protocol":P,"tty":LINK|null,"port":N|null,"control_port":M}`` to
standard error and runs until SIGTERM or SIGINT. The wire rules are in
:mod:`smartpos_sim.fiscal.link`.

The control port (127.0.0.1) holds fault switches and a view of the fiscal memory: one
command per line, each answered with one line, ``ok``, ``error <message>`` or JSON::

    drop_next              execute the next command, send no reply (the host must resend it
                           with the same SEQ and gets the reply the device kept)
    drop_cmd <hex>         the same for the next command with that code (``drop_cmd 38``)
    busy <ms>              answer the next command after <ms> of busy bytes (SYN / RETRY)
    nak_next               answer the next frame with NAK, without executing it
    garbage_next           prefix the next reply with noise bytes
    paper_out on|off       print commands are refused with paper-end status, change nothing
    paper_out_at <hex> [n] the paper runs out as the n-th next command of that code arrives
    fm_nearly_full on|off  the "fiscal memory nearly full" status bit
    status                 link state: protocol, pending faults, counters, last SEQ
    receipts               every fiscal receipt issued (closed and cancelled), oldest first
    state                  the fiscal memory: open receipt, daily totals, Z counter, cash
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from smartpos_sim.fiscal.c_device import DatecsCDevice
from smartpos_sim.fiscal.engine import FiscalEngine
from smartpos_sim.fiscal.link import Connection, DeviceCodec, LinkDevice
from smartpos_sim.fiscal.model import Identity
from smartpos_sim.fiscal.tremol_device import TremolDevice
from smartpos_sim.fiscal.x_device import DatecsXDevice
from smartpos_sim.linecontrol import CONTROL_HOST, LineControl, start_line_control
from smartpos_sim.pty_link import PtyTransport, open_pty_link
from smartpos_sim.runner import (
    emit,
    non_negative_int,
    port_number,
    positive_int,
    run_service,
    stop_on_signals,
)

PROTOCOLS = ("datecs-x", "datecs-c", "tremol")
# Model, firmware revision, firmware date and time each protocol's device reports.
MODELS: dict[str, tuple[str, str, str, str]] = {
    "datecs-x": ("FP-700X", "1.00BG", "23Nov18", "1000"),
    "datecs-c": ("DP-25", "263453", "08Nov18", "1000"),
    "tremol": ("FP01-KL", "Ver.1.01 TFP01 C.S.2541", "01-01-2019", "08:00"),
}


_ON_OFF = {"on": True, "off": False}
MAX_BUSY_MS = 600_000


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _hex_code(args: list[str]) -> int | None:
    """One hex command code (``38`` or ``0x38``), or None."""
    if len(args) != 1:
        return None
    try:
        code = int(args[0].removeprefix("0x"), 16)
    except ValueError:
        return None
    return code if 0 <= code <= 0xFFFF else None


class FiscalControl:
    """Runs control lines against one device's link and fiscal memory."""

    def __init__(self, device: LinkDevice, engine: FiscalEngine) -> None:
        self.device = device
        self.engine = engine

    def execute(self, line: str) -> str:
        """Run one command line; returns the answer line (without the newline)."""
        words = line.split()
        if not words:
            return "error empty command"
        name, args = words[0].lower(), [word.lower() for word in words[1:]]
        simple: dict[str, Callable[[], str]] = {
            "drop_next": self._drop_next,
            "nak_next": self._nak_next,
            "garbage_next": self._garbage_next,
            "status": lambda: _json({**self.device.status(), **self._switches()}),
            "receipts": lambda: _json(self.engine.receipts_json()),
            "state": lambda: _json(self.engine.state_json()),
        }
        if name in simple:
            return simple[name]() if not args else f"error usage: {name}"
        if name in ("paper_out", "fm_nearly_full"):
            if len(args) != 1 or args[0] not in _ON_OFF:
                return f"error usage: {name} on|off"
            setattr(self.engine, name, _ON_OFF[args[0]])
            return "ok"
        if name == "drop_cmd":
            return self._drop_cmd(args)
        if name == "paper_out_at":
            code = _hex_code(args[:1])
            count = args[1] if len(args) == 2 else "1"
            if code is None or len(args) > 2 or not count.isdigit() or int(count) < 1:
                return "error usage: paper_out_at <hex command code> [n]"
            self.device.faults.paper_out_at[code] = int(count)
            return "ok"
        if name == "busy":
            return self._busy(args)
        return f"error unknown command {line.strip()!r}"

    def _switches(self) -> dict[str, bool]:
        return {"paper_out": self.engine.paper_out, "fm_nearly_full": self.engine.fm_nearly_full}

    def _drop_next(self) -> str:
        self.device.faults.drop_next = True
        return "ok"

    def _nak_next(self) -> str:
        self.device.faults.nak_next = True
        return "ok"

    def _garbage_next(self) -> str:
        self.device.faults.garbage_next = True
        return "ok"

    def _drop_cmd(self, args: list[str]) -> str:
        if len(args) != 1:
            return "error usage: drop_cmd <hex command code>"
        try:
            code = int(args[0].removeprefix("0x"), 16)
        except ValueError:
            return f"error not a hex command code: {args[0]!r}"
        if not 0 <= code <= 0xFFFF:
            return "error command code out of range"
        self.device.faults.drop_cmds.append(code)
        return "ok"

    def _busy(self, args: list[str]) -> str:
        if len(args) != 1 or not args[0].isdigit():
            return "error usage: busy <ms>"
        value = int(args[0])
        if not 1 <= value <= MAX_BUSY_MS:
            return f"error busy must be 1..{MAX_BUSY_MS} ms"
        self.device.faults.busy_ms = value
        return "ok"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fiscal`` subcommand."""
    parser = subparsers.add_parser(
        "fiscal",
        help="a fiscal printer (Datecs X, Datecs C, Tremol ZFP)",
        description="A simulated fiscal printer on a pseudo-terminal or TCP, with a fault control port.",
    )
    parser.add_argument("--protocol", required=True, choices=PROTOCOLS, help="wire protocol")
    link = parser.add_mutually_exclusive_group(required=True)
    link.add_argument("--link", help="symlink to create for the serial port")
    link.add_argument("--port", type=port_number, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument(
        "--control-port", type=port_number, default=0, help="control port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--delay-ms", type=non_negative_int, default=0, help="time to answer each command")
    parser.add_argument("--serial-number", type=_device_number, default="DT123456", help="8 characters")
    parser.add_argument("--fm-number", type=_device_number, default="02123456", help="fiscal memory number")
    parser.add_argument("--first-number", type=positive_int, default=1, help="first receipt number")
    parser.set_defaults(run=run)


def _device_number(text: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z]{8}", text):
        raise argparse.ArgumentTypeError(f"must be 8 letters or digits, got {text!r}")
    return text


def build_device(args: argparse.Namespace) -> tuple[FiscalEngine, LinkDevice]:
    """The engine and link device the arguments describe."""
    model, firmware, firmware_date, firmware_time = MODELS[args.protocol]
    identity = Identity(model, firmware, firmware_date, firmware_time, args.serial_number, args.fm_number)
    engine = FiscalEngine(identity, first_number=args.first_number)
    codecs: dict[str, type[DatecsXDevice] | type[DatecsCDevice] | type[TremolDevice]] = {
        "datecs-x": DatecsXDevice,
        "datecs-c": DatecsCDevice,
        "tremol": TremolDevice,
    }
    codec: DeviceCodec = codecs[args.protocol](engine)
    device = LinkDevice(codec, delay_s=args.delay_ms / 1000)
    device.on_paper_out = lambda: setattr(engine, "paper_out", True)
    return engine, device


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    return run_service(lambda: _serve(args))


async def _serve(args: argparse.Namespace) -> None:
    engine, device = build_device(args)
    pty: PtyTransport | None = None
    server: asyncio.Server | None = None
    control: asyncio.Server | None = None
    try:
        listening: dict[str, Any] = {
            "event": "listening",
            "protocol": args.protocol,
            "tty": None,
            "port": None,
        }
        if args.link:
            pty = open_pty_link(args.link, Connection(device), {"peername": ("tty", args.link)})
            listening["tty"] = args.link
        else:
            loop = asyncio.get_running_loop()
            # 127.0.0.1 only: a simulated fiscal device is a test fixture, never a LAN service.
            server = await loop.create_server(lambda: Connection(device), CONTROL_HOST, args.port)
            listening["port"] = server.sockets[0].getsockname()[1]
        # The control port opens last: a caller that waits for it finds the device ready.
        control = await start_line_control(
            LineControl(FiscalControl(device, engine).execute), args.control_port
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
