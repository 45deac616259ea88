"""A line-per-command control port on 127.0.0.1, shared by the serial device simulators.

Same style as the printer's control port: one command per line, each answered with one line
(``ok``, ``error <message>`` or one JSON object). ``subscribe``, where the simulator offers it,
answers ``ok`` and then streams JSON-line events until the client closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

CONTROL_HOST = "127.0.0.1"


class Subscribers:
    """Event sinks of ``subscribe`` connections; an event is written to each as it happens."""

    def __init__(self) -> None:
        self._sinks: set[Callable[[bytes], None]] = set()

    def subscribe(self, sink: Callable[[bytes], None]) -> None:
        self._sinks.add(sink)

    def unsubscribe(self, sink: Callable[[bytes], None]) -> None:
        self._sinks.discard(sink)

    def emit(self, event: dict[str, Any]) -> None:
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        for sink in list(self._sinks):
            sink(line)


class LineControl:
    """Serves control connections: ``execute`` answers a command line, ``events`` feeds subscribers.

    Without ``events``, ``subscribe`` is an unknown command like any other and goes to
    ``execute``.
    """

    def __init__(self, execute: Callable[[str], str], events: Subscribers | None = None) -> None:
        self.execute = execute
        self.events = events

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                if text.lower() == "subscribe" and self.events is not None:
                    await self._subscribe(self.events, reader, writer)
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

    @staticmethod
    async def _subscribe(
        events: Subscribers, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        def sink(line: bytes) -> None:
            # Written as the change happens: a subscriber sees the screen the moment it changes.
            if not writer.is_closing():
                writer.write(line)

        writer.write(b"ok\n")
        events.subscribe(sink)
        try:
            while await reader.read(4096):
                pass  # input after subscribe is ignored; EOF ends the subscription
        finally:
            events.unsubscribe(sink)


async def start_line_control(control: LineControl, port: int) -> asyncio.Server:
    """Listen on 127.0.0.1:``port`` (0 picks a free one); never on other interfaces."""
    return await asyncio.start_server(control.handle, CONTROL_HOST, port)
