"""The print engine: one receive buffer, one print queue, paper speed, faults and events.

Every connection's parser hands its actions to :meth:`Printer.receive`. Real-time commands are
acted on there and then, whatever the engine is doing; everything else joins one queue in
arrival order and is printed by :meth:`Printer.run`, at the paper speed and only while there is
paper, the cover is shut and the printer is online. The bytes of queued actions count against
``buffer_size``; while it is full the connections stop reading their sockets, so TCP
backpressure reaches the host as it does with a real printer's receive buffer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from smartpos_sim.printer.actions import (
    Action,
    Cut,
    DrawerKick,
    DrawerPulse,
    ProcessId,
    Realtime,
    StatusRequest,
    Unknown,
)
from smartpos_sim.printer.paper import PaperWriter, PrintModel
from smartpos_sim.printer.status import Switches

YIELD_EVERY = 16  # print jobs between two yields to the event loop


class Client(Protocol):
    """A data connection, as the engine sees it."""

    def reply(self, data: bytes) -> None: ...

    def job_queued(self) -> None: ...

    def job_done(self) -> None: ...

    def update(self) -> None:
        """Room in the buffer or the online state changed: take held data, resume reading."""


@dataclass(slots=True)
class Job:
    """An action waiting in the print queue, with when and from whom it came."""

    action: Action
    received_t: float
    client: Client


@dataclass
class Counters:
    """What the printer has done since it started."""

    receipts: int = 0
    bytes_received: int = 0
    lines_printed: int = 0
    connections: int = 0
    open_connections: int = 0
    unknown_commands: int = 0


class EventBus:
    """JSON-line events for control-port subscribers, written to them as they happen."""

    def __init__(self) -> None:
        self._sinks: set[Callable[[bytes], None]] = set()

    def subscribe(self, sink: Callable[[bytes], None]) -> None:
        self._sinks.add(sink)

    def unsubscribe(self, sink: Callable[[bytes], None]) -> None:
        self._sinks.discard(sink)

    def emit(self, event: dict[str, Any]) -> None:
        event.setdefault("t", time.time())
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        for sink in list(self._sinks):
            sink(line)


class Printer:
    """One simulated printer: switches, print queue, engine task, paper and events."""

    def __init__(
        self,
        paper: PaperWriter,
        *,
        speed_mm_s: float = 0.0,
        buffer_size: int = 65536,
        width_chars: int = 48,
    ) -> None:
        self.paper = paper
        self.speed_mm_s = speed_mm_s
        self.buffer_size = buffer_size
        self.model = PrintModel(width_chars=width_chars)
        self.switches = Switches()
        self.counters = Counters()
        self.events = EventBus()
        self.clients: list[Client] = []
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._backlog = 0
        self._jobs = 0  # queued or being printed
        self._ready = asyncio.Event()
        self._ready.set()
        self._paper_clock: float | None = None

    # -- connections ----------------------------------------------------------------------
    def attach(self, client: Client, peer: str) -> None:
        self.clients.append(client)
        self.counters.connections += 1
        self.counters.open_connections += 1
        self.events.emit({"event": "connection", "state": "opened", "peer": peer})

    def detach(self, client: Client, peer: str) -> None:
        """The client closed its side (its held data is still printed)."""
        self.counters.open_connections -= 1
        self.events.emit({"event": "connection", "state": "closed", "peer": peer})

    def forget(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)

    # -- receiving ------------------------------------------------------------------------
    @property
    def room(self) -> int:
        """Bytes the receive buffer can still take."""
        return max(0, self.buffer_size - self._backlog)

    @property
    def accepting(self) -> bool:
        """Whether connections may read: online and the buffer not full."""
        return not self.switches.offline and self._backlog < self.buffer_size

    def receive(self, actions: list[Action], received_t: float, client: Client) -> bytes:
        """Act on real-time commands now (returns their answers); queue the rest in order."""
        answers = bytearray()
        for action in actions:
            if isinstance(action, Realtime):
                answers += self._realtime(action)
                continue
            self._backlog += action.size
            self._jobs += 1
            client.job_queued()
            self._queue.put_nowait(Job(action, received_t, client))
        return bytes(answers)

    def _realtime(self, action: Realtime) -> bytes:
        if isinstance(action, StatusRequest):
            answer = self.switches.status_byte(action.n)
            return b"" if answer is None else bytes((answer,))
        if isinstance(action, DrawerPulse):
            for step in self.model.apply(action):
                if step.line is not None:
                    self._write(step.line)
            self.paper.flush()  # real-time: outside the print queue, so nothing else flushes it
            self.events.emit({"event": "drawer", "pin": action.pin, "pulse_ms": action.pulse_ms})
        return b""

    # -- control --------------------------------------------------------------------------
    def set_switch(self, name: str, value: bool) -> None:
        if name not in Switches.NAMES:
            raise ValueError(f"no switch {name!r}")
        setattr(self.switches, name, value)
        if self.switches.stalled:
            self._ready.clear()
        else:
            self._ready.set()
        self.events.emit({"event": "switch", "name": name, "value": value})
        if name == "offline":
            self._notify_clients()

    def set_speed(self, mm_s: float) -> None:
        self.speed_mm_s = mm_s
        self.events.emit({"event": "speed", "value": mm_s})

    def status(self) -> dict[str, Any]:
        return {
            "switches": self.switches.as_dict(),
            "speed_mm_s": self.speed_mm_s,
            "buffer_size": self.buffer_size,
            "backlog_bytes": self._backlog,
            "queued_actions": self._jobs,
            "counters": asdict(self.counters),
            "display_text": self.model.display_text,
        }

    def _notify_clients(self) -> None:
        for client in list(self.clients):
            client.update()

    # -- printing -------------------------------------------------------------------------
    async def run(self) -> None:
        """The engine: prints queued actions one by one, forever (cancel to stop)."""
        done = 0
        while True:
            if self._queue.empty():
                # Idle: the paper stands still, so the next line's time counts from its arrival.
                self._paper_clock = None
                self.paper.flush()
            job = await self._queue.get()
            try:
                await self._print(job)
            finally:
                self._release(job)
            done += 1
            if done % YIELD_EVERY == 0:
                # At paper speed 0 nothing above suspends while the queue has work, so a big
                # backlog would keep the loop from reading sockets (and answering real-time
                # status) until it is all printed; let the other tasks in now and then.
                await asyncio.sleep(0)

    async def _print(self, job: Job) -> None:
        action = job.action
        # A stalled printer processes nothing, so everything after the stall point stays in
        # the receive buffer (and counts against it) until the stall clears.
        await self._wait_ready()
        for step in self.model.apply(action):
            await self._wait_ready()
            await self._advance(step.mm)
            if step.line is not None:
                self._write(step.line)
        if isinstance(action, Cut):
            self.counters.receipts += 1
            self.events.emit(
                {
                    "event": "cut",
                    "partial": action.partial,
                    "receipt": self.counters.receipts,
                    "t": job.received_t,
                    "printed_t": time.time(),
                }
            )
        elif isinstance(action, DrawerKick):
            self.events.emit(
                {"event": "drawer", "pin": action.pin, "on_ms": action.on_ms, "off_ms": action.off_ms}
            )
        elif isinstance(action, ProcessId):
            # Everything received before it has printed by now (the queue is in order and each
            # line waited for its paper time and for any stall). Held while stalled, so a
            # receipt is never confirmed while the printer sits without paper.
            await self._wait_ready()
            self.paper.flush()  # what the host is told has printed is on the paper file
            job.client.reply(b"\x37\x22" + action.ident + b"\x00")
            self.events.emit({"event": "process_id", "id": action.ident.decode("ascii")})
        elif isinstance(action, Unknown):
            self.counters.unknown_commands += 1
            self.events.emit({"event": "unknown", "command": action.command.hex(" ").upper()})

    async def _wait_ready(self) -> None:
        if not self._ready.is_set():
            self.paper.flush()
            await self._ready.wait()
            self._paper_clock = None  # the paper stood still while stalled

    async def _advance(self, mm: float) -> None:
        """Take the time ``mm`` of paper needs at the current speed (none at speed 0)."""
        if mm <= 0 or self.speed_mm_s <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # The paper runs on its own clock: each line ends ``mm / speed`` after the previous
        # one ended, not after the previous sleep returned. asyncio.sleep wakes late by a
        # millisecond or so each time; sleeping per line from "now" would add that lateness
        # up over a long receipt, and the print time would grow with the load on the machine.
        start = now if self._paper_clock is None else self._paper_clock
        self._paper_clock = start + mm / self.speed_mm_s
        if self._paper_clock > now:
            self.paper.flush()
            await asyncio.sleep(self._paper_clock - now)

    def _write(self, line: str) -> None:
        self.paper.write_line(line)
        self.counters.lines_printed += 1

    def _release(self, job: Job) -> None:
        was_full = self._backlog >= self.buffer_size
        self._backlog -= job.action.size
        self._jobs -= 1
        job.client.job_done()
        if was_full and self._backlog < self.buffer_size:
            self._notify_clients()
