"""The control port: fault switches, paper speed, status and an event stream, as text lines.

One command per line; each is answered with one line, ``ok`` or ``error <message>`` (``status``
answers one JSON line instead)::

    paper_out on|off        paper_near_end on|off     cover_open on|off
    offline on|off          error on|off              drawer open|closed
    speed <mm_per_s>        status                    subscribe

``subscribe`` answers ``ok`` and then streams JSON-line events until the client closes:
``cut`` (with ``t``, when the cut's last byte was received, and ``printed_t``), ``process_id``,
``drawer``, ``connection``, ``switch``, ``speed`` and ``unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math

from smartpos_sim.printer.engine import Printer

CONTROL_HOST = "127.0.0.1"
_ON_OFF = {"on": True, "off": False}
_DRAWER = {"open": True, "closed": False}


class ControlPort:
    """Serves control connections for one :class:`~smartpos_sim.printer.engine.Printer`."""

    def __init__(self, printer: Printer) -> None:
        self.printer = printer

    def execute(self, line: str) -> str:
        """Run one command line; returns the answer line (without the newline)."""
        words = line.split()
        if not words:
            return "error empty command"
        name, args = words[0].lower(), [w.lower() for w in words[1:]]
        if name in ("paper_out", "paper_near_end", "cover_open", "offline", "error"):
            if len(args) != 1 or args[0] not in _ON_OFF:
                return f"error usage: {name} on|off"
            self.printer.set_switch(name, _ON_OFF[args[0]])
            return "ok"
        if name == "drawer":
            if len(args) != 1 or args[0] not in _DRAWER:
                return "error usage: drawer open|closed"
            self.printer.set_switch("drawer_open", _DRAWER[args[0]])
            return "ok"
        if name == "speed":
            return self._speed(args)
        if name == "status" and not args:
            return json.dumps(self.printer.status(), separators=(",", ":"))
        return f"error unknown command {line.strip()!r}"

    def _speed(self, args: list[str]) -> str:
        if len(args) != 1:
            return "error usage: speed <mm_per_s> (0 = instant)"
        try:
            speed = float(args[0])
        except ValueError:
            return f"error speed must be a number, got {args[0]!r}"
        if not math.isfinite(speed) or speed < 0:
            return "error speed must be a finite number >= 0"
        self.printer.set_speed(speed)
        return "ok"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                if text.lower() == "subscribe":
                    await self._subscribe(reader, writer)
                    return
                writer.write((self.execute(text) + "\n").encode())
                await writer.drain()
        except ValueError:  # a line longer than the stream limit
            writer.write(b"error line too long\n")
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _subscribe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def sink(line: bytes) -> None:
            # Written as the event happens, from inside the engine: no queue, no extra hop,
            # so a subscriber sees a cut as soon as it is received.
            if not writer.is_closing():
                writer.write(line)

        writer.write(b"ok\n")
        self.printer.events.subscribe(sink)
        try:
            while await reader.read(4096):
                pass  # input after subscribe is ignored; EOF ends the subscription
        finally:
            self.printer.events.unsubscribe(sink)


async def start_control_server(printer: Printer, port: int) -> asyncio.Server:
    """Listen on 127.0.0.1:``port`` (0 picks a free one); never on other interfaces."""
    return await asyncio.start_server(ControlPort(printer).handle, CONTROL_HOST, port)
