"""The wire rules every simulated fiscal device follows, whatever its protocol.

* One command at a time. The host must wait for an answer before it sends the next request,
  so requests that arrive meanwhile wait their turn (per connection, in order; across TCP
  connections the device lock serialises them, as a real device has one command processor).
* The answer comes after ``--delay-ms``. A command that takes longer than 60 ms is covered by
  busy bytes (Datecs SYN ``16``, Tremol RETRY ``0E``) every 60 ms until the answer, so a host's
  500 ms answer timeout never fires on a device that is merely working.
* A damaged frame (checksum, LEN, markers, or a frame start whose rest never arrives) is
  answered with NAK and not executed. Bytes outside any frame are line noise and ignored.
* A request carrying the SEQ (Tremol: NBL) of the last executed request is not executed
  again: the device repeats its last reply byte for byte. That is how a host recovers a lost
  reply without a second fiscal receipt, so the last SEQ and reply are device-wide and
  survive a reconnect (a host that lost its TCP connection resends on a new one).
* PING (Tremol only) is answered at once, even mid-command, with the busy bit set then.

Faults set on the control port act once, on the next frame they apply to (see
:class:`Faults`). Nothing here knows a protocol: each one plugs in a :class:`DeviceCodec`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

SYN_INTERVAL_S = 0.060  # the manuals' busy-byte period
INCOMPLETE_FRAME_S = 0.5  # a frame start without its rest for this long is a damaged frame
# Prefixed to a reply by ``garbage_next``: bytes that start no frame and are no control byte
# in any of the three protocols, so a host parser has to skip them, not misread them.
NOISE = b"\xff\xfe\x7f\x55\xaa"


@dataclass(frozen=True, slots=True)
class Command:
    """A well-formed request: its sequence number, command code and the codec's own message."""

    seq: int
    code: int
    message: object


@dataclass(frozen=True, slots=True)
class Damaged:
    """A frame that arrived broken: answered with NAK."""

    reason: str


@dataclass(frozen=True, slots=True)
class Noise:
    """Bytes outside any frame: ignored."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ping:
    """A one-byte status query outside frames (Tremol ZFP)."""


Incoming = Command | Damaged | Noise | Ping


class Reader(Protocol):
    """A protocol's device-side parser, normalised to :data:`Incoming` items."""

    def feed(self, data: bytes) -> list[Incoming]: ...


class DeviceCodec(Protocol):
    """What a protocol adapter provides to the link."""

    name: str
    nak: bytes
    busy: bytes

    def reader(self) -> Reader: ...

    def execute(self, command: Command) -> bytes: ...

    def ping_reply(self, busy: bool) -> bytes: ...


@dataclass(slots=True)
class Faults:
    """One-shot faults from the control port; each is used up by the frame it applies to."""

    drop_next: bool = False  # execute the next command, send no reply
    drop_cmds: list[int] = field(default_factory=list)  # the same, for the next command of a code
    busy_ms: int = 0  # the next command is answered after this long, covered by busy bytes
    nak_next: bool = False  # NAK the next frame without executing it
    garbage_next: bool = False  # prefix the next reply with noise
    # The paper runs out just as the n-th next command of a code arrives (mid-receipt):
    # code -> how many more commands of that code until then.
    paper_out_at: dict[int, int] = field(default_factory=dict)

    def take_paper_out(self, code: int) -> bool:
        left = self.paper_out_at.get(code)
        if left is None:
            return False
        if left > 1:
            self.paper_out_at[code] = left - 1
            return False
        del self.paper_out_at[code]
        return True

    def take_drop(self, code: int) -> bool:
        """Whether the reply to a command of ``code`` is to be dropped (using the fault up)."""
        if code in self.drop_cmds:
            self.drop_cmds.remove(code)
            return True
        if self.drop_next:
            self.drop_next = False
            return True
        return False

    def to_json(self) -> dict[str, Any]:
        """The pending faults, command codes in hex."""
        data = asdict(self)
        data["drop_cmds"] = [f"{code:02x}" for code in self.drop_cmds]
        data["paper_out_at"] = {f"{code:02x}": left for code, left in self.paper_out_at.items()}
        return data


@dataclass(slots=True)
class Counters:
    """What the link has done since start, for tests to assert on ("executed once")."""

    frames: int = 0  # requests handled, damaged ones included
    executed: int = 0
    repeated: int = 0  # same SEQ as the last executed request: last reply sent again
    naks: int = 0
    dropped: int = 0  # replies withheld by drop_next / drop_cmd
    pings: int = 0
    noise: int = 0


class LinkDevice:
    """The device's link state, shared by every connection to it (the pty, TCP clients)."""

    def __init__(self, codec: DeviceCodec, *, delay_s: float = 0.0) -> None:
        self.codec = codec
        self.delay_s = delay_s
        self.faults = Faults()
        self.counters = Counters()
        # Set by the process: empties the paper roll (the engine's switch) when a fault says so.
        self.on_paper_out: Callable[[], None] | None = None
        self.last_seq: int | None = None
        self.last_reply: bytes | None = None
        self.busy = False
        self._lock = asyncio.Lock()

    async def handle(self, item: Command | Damaged, send: Callable[[bytes], None]) -> None:
        """Answer one frame; ``send`` writes to the connection it came from."""
        async with self._lock:
            self.busy = True
            try:
                await self._handle(item, send)
            finally:
                self.busy = False

    async def _handle(self, item: Command | Damaged, send: Callable[[bytes], None]) -> None:
        self.counters.frames += 1
        if isinstance(item, Damaged) or self.faults.nak_next:
            if not isinstance(item, Damaged):
                self.faults.nak_next = False
            # Nothing was executed and the last SEQ is unchanged: the host's resend, which
            # carries the same SEQ, is executed as new.
            self.counters.naks += 1
            send(self.codec.nak)
            return
        if item.seq == self.last_seq and self.last_reply is not None:
            self.counters.repeated += 1
            await self._work(self.delay_s, send, announce=False)
            send(self.last_reply)
            return
        busy_s, self.faults.busy_ms = self.faults.busy_ms / 1000, 0
        await self._work(busy_s + self.delay_s, send, announce=busy_s > 0)
        if self.faults.take_paper_out(item.code) and self.on_paper_out is not None:
            self.on_paper_out()
        reply = self.codec.execute(item)
        self.counters.executed += 1
        # Remembered before any fault touches it: a resend gets the clean reply.
        self.last_seq, self.last_reply = item.seq, reply
        if self.faults.take_drop(item.code):
            self.counters.dropped += 1
            return
        if self.faults.garbage_next:
            self.faults.garbage_next = False
            reply = NOISE + reply
        send(reply)

    async def _work(self, seconds: float, send: Callable[[bytes], None], *, announce: bool) -> None:
        """Take ``seconds``, sending a busy byte every 60 ms while it lasts.

        ``announce`` sends the first one at once (a device told to be busy says so at once);
        otherwise the first goes out after 60 ms, so a short delay shows no busy byte at all.
        """
        if seconds <= 0:
            return
        if announce:
            send(self.codec.busy)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            await asyncio.sleep(min(SYN_INTERVAL_S, remaining))
            if deadline - loop.time() > 0:
                send(self.codec.busy)

    def status(self) -> dict[str, Any]:
        """The link's state for the control port's ``status``."""
        return {
            "protocol": self.codec.name,
            "delay_ms": round(self.delay_s * 1000),
            "busy": self.busy,
            "last_seq": self.last_seq,
            "faults": self.faults.to_json(),
            "counters": asdict(self.counters),
        }


class Connection(asyncio.Protocol):
    """One host connection (the pty, or a TCP client): its own parser and request queue."""

    def __init__(self, device: LinkDevice) -> None:
        self._device = device
        self._reader = device.codec.reader()
        self._queue: asyncio.Queue[Command | Damaged | None] = asyncio.Queue()
        self._transport: asyncio.BaseTransport | None = None
        self._worker: asyncio.Task[None] | None = None
        self._flush: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._worker = asyncio.get_running_loop().create_task(self._work(), name="fiscal-link")

    def data_received(self, data: bytes) -> None:
        items = self._reader.feed(data)
        for item in items:
            if isinstance(item, Ping):
                self._device.counters.pings += 1
                self._send(self._device.codec.ping_reply(self._device.busy))
            elif isinstance(item, Noise):
                self._device.counters.noise += 1
            else:
                self._queue.put_nowait(item)
        # Bytes that completed nothing are (most likely) the start of a frame still arriving.
        # If its rest never comes, the frame was damaged on the way: NAK it rather than wait
        # for bytes that would glue the host's resend onto the broken start.
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if not items:
            self._flush = asyncio.get_running_loop().call_later(INCOMPLETE_FRAME_S, self._incomplete)

    def _incomplete(self) -> None:
        self._flush = None
        self._reader = self._device.codec.reader()
        self._queue.put_nowait(Damaged("incomplete frame"))

    def _send(self, data: bytes) -> None:
        transport = self._transport
        if data and isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(data)

    async def _work(self) -> None:
        # None marks the end of the connection: what arrived before it is still executed,
        # as a device executes a command whether or not the host is still there to read.
        while (item := await self._queue.get()) is not None:
            await self._device.handle(item, self._send)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._flush is not None:
            self._flush.cancel()
        self._queue.put_nowait(None)
