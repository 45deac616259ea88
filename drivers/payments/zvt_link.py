"""The ZVT link: APDUs over TCP, or DLE frames with ACK/NAK over a serial line.

One reader task owns the transport's input for the whole connection. It is started before
anything is sent (so no answer, however fast, can arrive unheard) and it sorts what comes in:

* over serial, a good frame from the terminal is answered ``06`` (ACK) at once and its APDU
  queued; a damaged one is answered ``15`` (NAK) and the terminal sends it again; the
  terminal's ACK/NAK to *our* frame resolves the future :meth:`ZvtLink.send` registered
  before writing;
* over TCP every APDU is queued as it is cut from the stream.

Serial timing follows PA00P015 as implemented by Europa-Park/zvtlib (RS232Transport.cs): the
receiver answers a frame within T3 = 5 s, a frame is sent at most three times (two repeats)
on NAK or silence. A link that breaks puts its error in the queue, so whoever waits for the
next APDU hears about it instead of waiting out a long card timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from drivers.errors import DeviceError, DeviceOffline, Timeout
from drivers.transports.base import Transport
from protocols.payments.zvt_frame import (
    ACK,
    NAK,
    Apdu,
    ApduParser,
    Control,
    Corrupt,
    FrameParser,
    encode_apdu,
    encode_frame,
)

log = logging.getLogger(__name__)

IDLE_READ_S = 3600.0  # the reader's read timeout: an idle terminal may say nothing for hours


@dataclass(frozen=True, slots=True)
class LinkTiming:
    """``ack_timeout`` is T3, the wait for a link ACK; ``attempts`` the sends of one frame."""

    ack_timeout: float = 5.0
    attempts: int = 3


class ZvtLink:
    """Sends APDUs and hands over the terminal's APDUs in order."""

    def __init__(self, transport: Transport, device_id: str, *, serial: bool, timing: LinkTiming) -> None:
        self.transport = transport
        self.device_id = device_id
        self.serial = serial
        self.timing = timing
        self._queue: asyncio.Queue[Apdu | DeviceError] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._link_answer: asyncio.Future[int] | None = None
        self._send_lock = asyncio.Lock()
        self._broken: DeviceError | None = None
        self.naks_sent = 0
        self.resends = 0

    def start(self) -> None:
        """Start reading (call right after the transport opened, before sending anything)."""
        self._queue = asyncio.Queue()
        self._broken = None
        self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name=f"zvt-{self.device_id}")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    def drain(self) -> list[Apdu]:
        """Take every APDU already queued (stale answers before a new command)."""
        stale: list[Apdu] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, DeviceError):
                self._queue.put_nowait(item)  # a broken link stays broken for the next reader
                break
            stale.append(item)
        return stale

    async def send(self, apdu: Apdu) -> None:
        """Send one APDU; on serial, until the terminal ACKs the frame."""
        if self._broken is not None:
            raise DeviceOffline(f"{self.device_id}: link lost: {self._broken}", sent=True)
        if not self.serial:
            await self.transport.write(encode_apdu(apdu), self.timing.ack_timeout)
            return
        frame = encode_frame(apdu)
        async with self._send_lock:
            for attempt in range(1, self.timing.attempts + 1):
                loop = asyncio.get_running_loop()
                self._link_answer = answer = loop.create_future()  # registered before writing
                await self.transport.write(frame, self.timing.ack_timeout)
                try:
                    byte = await asyncio.wait_for(answer, self.timing.ack_timeout)
                except TimeoutError:
                    byte = None
                finally:
                    self._link_answer = None
                if byte == ACK:
                    return
                self.resends += 1
                why = "NAK" if byte == NAK else "no ACK in time"
                log.info(
                    "ZVT frame sent again",
                    extra={"device": self.device_id, "apdu": str(apdu), "attempt": attempt, "why": why},
                )
        raise Timeout(
            f"{self.device_id}: the terminal did not take {apdu.cls:02X} {apdu.instr:02X} "
            f"after {self.timing.attempts} tries",
            sent=True,
        )

    async def receive(self, timeout: float) -> Apdu:
        """The next APDU from the terminal; raises ``Timeout`` or the link's error."""
        try:
            item = await asyncio.wait_for(self._queue.get(), max(timeout, 0.0))
        except TimeoutError:
            raise Timeout(f"{self.device_id}: no message from the terminal within {timeout:.1f}s") from None
        if isinstance(item, DeviceError):
            self._queue.put_nowait(item)
            raise DeviceOffline(f"{self.device_id}: {item}", sent=True)
        return item

    async def _read_loop(self) -> None:
        parser: ApduParser | FrameParser = FrameParser() if self.serial else ApduParser()
        while True:
            try:
                data = await self.transport.read(IDLE_READ_S)
            except Timeout:
                continue
            except DeviceError as exc:
                self._fail(exc)
                return
            try:
                if isinstance(parser, ApduParser):
                    for apdu in parser.feed(data):
                        self._queue.put_nowait(apdu)
                else:
                    for item in parser.feed(data):
                        await self._serial_item(item)
            except DeviceError as exc:
                self._fail(exc)
                return

    async def _serial_item(self, item: Apdu | Control | Corrupt) -> None:
        if isinstance(item, Apdu):
            # ACK first: the terminal waits T3 for it and would send the frame again.
            await self.transport.write(bytes((ACK,)), self.timing.ack_timeout)
            self._queue.put_nowait(item)
        elif isinstance(item, Control):
            answer = self._link_answer
            if answer is not None and not answer.done():
                answer.set_result(item.byte)
            else:
                log.debug(
                    "stray link byte from the terminal", extra={"device": self.device_id, "byte": item.byte}
                )
        elif item.frame:
            self.naks_sent += 1
            log.warning(
                "damaged ZVT frame, NAK sent", extra={"device": self.device_id, "reason": item.reason}
            )
            await self.transport.write(bytes((NAK,)), self.timing.ack_timeout)
        else:
            log.debug("line noise from the terminal", extra={"device": self.device_id, "reason": item.reason})

    def _fail(self, exc: DeviceError) -> None:
        self._broken = exc
        answer = self._link_answer
        if answer is not None and not answer.done():
            answer.set_result(-1)
        self._queue.put_nowait(exc)
