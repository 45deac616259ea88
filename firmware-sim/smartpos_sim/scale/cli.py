"""``smartpos-sim scale``: a weighing scale on a pseudo-terminal, as a process.

    smartpos-sim scale --protocol toledo|sics|cas --link LINK [--control-port M]
                       [--capacity-kg 15] [--unit kg|g|lb] [--decimals N]
                       [--stability-timeout 2.0] [--serial SIM0001]

LINK becomes a symlink to the pty's slave device: open it as the scale's serial port. On
start the process prints ``{"event":"listening","tty":LINK,"control_port":M,"protocol":P}``
to standard error and runs until SIGTERM or SIGINT; the link is removed on exit.

The line settings of the real devices (Toledo 9600 7E1, MT-SICS and CAS 9600 8N1) are a UART
matter: a pty carries the bytes as they are, whatever baud rate and data bits the host sets.
A Linux pty keeps only 8N1, though (it drops CS7 and refuses parity with EINVAL), so a host
opens the Toledo simulator as ``serial://LINK`` (8N1), where the real scale needs
``serial:///dev/ttyUSB0?bytesize=7&parity=E``; the scale's bytes are 7-bit ASCII either way.

Control port (127.0.0.1, one command per line, answered ``ok``, ``error ...`` or JSON):

* ``weight <grams>``: the load on the platform, in grams with up to 3 decimals (may be
  negative: a platform lifted a little).
* ``motion on|off``, ``overload on|off``, ``underload on|off``: force the condition.
* ``zero``, ``tare``: press the scale's own key (``error refused: <why>`` when it refuses).
* ``silent on|off``: the scale stops (resumes) answering; ``garbage_next``: the next answer
  is replaced by bytes that are no valid answer.
* ``status``: one JSON line: protocol, unit, decimals, capacity, load, zero offset, tare,
  gross and net weight (all ``*_mg``, exact), ``displayed`` (the display's text), the
  conditions, the fault switches and ``commands`` (commands received from the host).
* ``subscribe``: answers ``ok``, then streams ``{"event":"changed", ...status}`` each time
  the scale's state changes.
"""

from __future__ import annotations

import argparse
import decimal
import json
from decimal import Decimal
from typing import Any, cast

from protocols.scales import cas, toledo
from protocols.scales.common import from_milligrams
from smartpos_sim.linecontrol import LineControl, Subscribers, start_line_control
from smartpos_sim.pty_link import open_pty_link
from smartpos_sim.runner import emit, run_service, stop_on_signals
from smartpos_sim.scale.devices import CasDevice, ScaleDevice, SicsDevice, ToledoDevice
from smartpos_sim.scale.model import DEFAULT_DECIMALS, Flag, Scale

PROTOCOLS = ("toledo", "sics", "cas")
MAX_LOAD_G = Decimal(1_000_000)  # a tonne: more is a typo, not a test
SWITCHES = ("motion", "overload", "underload", "silent")


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"must be 0..60 seconds, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scale`` subcommand."""
    parser = subparsers.add_parser(
        "scale",
        help="a weighing scale on a pseudo-terminal",
        description="A simulated serial scale (Toledo 8217, MT-SICS or CAS ECR type 6).",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, required=True, help="the scale's protocol")
    parser.add_argument("--link", required=True, help="symlink to create for the serial port")
    parser.add_argument(
        "--control-port", type=int, default=0, help="control port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--capacity-kg", type=_decimal, default=Decimal(15), help="maximum load")
    parser.add_argument("--unit", choices=tuple(DEFAULT_DECIMALS), default="kg", help="display unit")
    parser.add_argument("--decimals", type=int, choices=range(5), default=None, help="places shown")
    parser.add_argument(
        "--stability-timeout", type=_seconds, default=2.0, help="MT-SICS: wait this long for stability"
    )
    parser.add_argument("--serial", default="SIM0001", help="MT-SICS serial number (I4)")
    parser.set_defaults(run=run)


def build_scale(args: argparse.Namespace) -> Scale:
    """The scale of ``args``; ``ValueError`` when the capacity cannot be shown in the protocol."""
    scale = Scale(capacity_mg=int(args.capacity_kg * 1_000_000), unit=args.unit, decimals=args.decimals)
    capacity = from_milligrams(scale.capacity_mg, scale.unit, scale.decimals)
    # Toledo and CAS send fixed-width fields: the whole range must fit in them.
    if args.protocol == "toledo":
        toledo.format_weight(capacity, scale.decimals)
    elif args.protocol == "cas":
        cas.format_weight(capacity, scale.decimals)
    return scale


def build_device(args: argparse.Namespace, scale: Scale) -> ScaleDevice:
    if args.protocol == "toledo":
        return ToledoDevice(scale)
    if args.protocol == "cas":
        return CasDevice(scale)
    return SicsDevice(scale, serial=args.serial, stability_timeout=args.stability_timeout)


class ScaleControl:
    """The control port's commands, acting on the scale and its device."""

    def __init__(self, scale: Scale, device: ScaleDevice) -> None:
        self.scale = scale
        self.device = device
        self.events = Subscribers()
        scale.on_change(lambda: self.events.emit({"event": "changed", **self.status()}))

    def status(self) -> dict[str, Any]:
        return {
            "protocol": self.device.protocol_name,
            **self.scale.snapshot(),
            "silent": self.device.silent,
            "garbage_next": self.device.garbage_next,
            "commands": self.device.commands,
        }

    def execute(self, line: str) -> str:
        """Answer one control command line."""
        words = line.split()
        name = words[0].lower() if words else ""
        if name == "status" and len(words) == 1:
            return json.dumps(self.status(), separators=(",", ":"))
        if name == "weight":
            return self._weight(words[1:])
        if name in SWITCHES:
            return self._switch(name, words[1:])
        if name in ("zero", "tare") and len(words) == 1:
            refusal = self.scale.zero() if name == "zero" else self.scale.tare()
            return "ok" if refusal is None else f"error refused: {refusal}"
        if name == "garbage_next" and len(words) == 1:
            self.device.garbage_next = True
            return "ok"
        return f"error unknown command {line.strip()!r}"

    def _weight(self, args: list[str]) -> str:
        try:
            grams = Decimal(args[0]) if len(args) == 1 else None
        except decimal.InvalidOperation:
            grams = None
        if grams is None or not grams.is_finite() or abs(grams) > MAX_LOAD_G:
            return "error usage: weight <grams> (a number, at most 1000000)"
        milligrams = grams * 1000
        if milligrams != milligrams.to_integral_value():
            return "error weight has at most 3 decimals (milligrams)"
        self.scale.set_load(int(milligrams))
        return "ok"

    def _switch(self, name: str, args: list[str]) -> str:
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            return f"error usage: {name} on|off"
        on = args[0].lower() == "on"
        if name == "silent":
            self.device.silent = on
        else:
            self.scale.set_flag(cast(Flag, name), on)
        return "ok"


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the exit status."""
    try:
        scale = build_scale(args)
    except ValueError as exc:
        emit({"event": "error", "message": f"capacity does not fit the protocol: {exc}"})
        return 2
    return run_service(lambda: _serve(args, scale))


async def _serve(args: argparse.Namespace, scale: Scale) -> None:
    device = build_device(args, scale)
    control = ScaleControl(scale, device)
    server = await start_line_control(LineControl(control.execute, control.events), args.control_port)
    try:
        link = open_pty_link(args.link, device)
        try:
            stop = stop_on_signals()
            port = server.sockets[0].getsockname()[1]
            emit({"event": "listening", "tty": args.link, "control_port": port, "protocol": args.protocol})
            await stop.wait()
        finally:
            link.close()
    finally:
        server.close()
