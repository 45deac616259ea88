"""The Datecs X link layer: one request at a time, resent with the same SEQ until answered.

Timing rules of the protocol (reference sheet and the Datecs manual):
- the device answers within 60 ms with a frame or one control byte;
- NAK means our frame arrived damaged: send the same frame again;
- SYN, repeated every 60 ms, means "still working": keep waiting, the clock restarts;
- nothing within 500 ms means the request or its answer was lost: send the same frame again,
  with the **same SEQ**. The device remembers the SEQ of its last message and, seeing it again,
  does not execute a second time but repeats its last reply. That is the whole trick that makes
  a lost reply harmless: a new SEQ would print a second sale line or a second receipt.

A reply is checked twice: its ``ErrorCode`` field and its status bits. Either can say the
command was refused; reading only one is how other servers report "OK" for a refused receipt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from drivers.errors import CoverOpen, Declined, DeviceError, DeviceOffline, PaperOut, ProtocolError, Timeout
from drivers.transports.base import Transport
from protocols.fiscal import datecs_x as dx
from protocols.fiscal.errors import FrameError

log = logging.getLogger(__name__)

# How long one SYN keeps us waiting, and the longest any command may keep the device busy
# (a Z report with a long electronic journal takes seconds, never minutes).
BUSY_LIMIT_S = 60.0


@dataclass(frozen=True, slots=True)
class LinkTiming:
    reply_timeout: float = 0.5
    attempts: int = 4


class DeviceRefused(Declined):
    """The device answered with a negative error code or a refusing status bit."""

    def __init__(self, message: str, *, error_code: int, flags: frozenset[str]) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.flags = flags


class DatecsXLink:
    """Sends requests over a transport and returns checked replies."""

    def __init__(
        self, transport: Transport, device_id: str, timing: LinkTiming, *, first_seq: int = 0x20
    ) -> None:
        self.transport = transport
        self.device_id = device_id
        self.timing = timing
        self._seq = first_seq
        self._parser = dx.HostParser()
        self._lock = asyncio.Lock()
        self.round_trips = 0
        self.last_flags: frozenset[str] = frozenset()

    def reset(self) -> None:
        """Forget half-read input (after a reconnect)."""
        self._parser = dx.HostParser()

    async def request(self, cmd: int, data: bytes = b"", *, check: bool = True) -> dx.Reply:
        """Send one command and return its reply; raises the typed device errors."""
        async with self._lock:
            self._seq = dx.next_seq(self._seq)
            frame = dx.encode_request(dx.Request(seq=self._seq, cmd=cmd, data=data))
            reply = await self._exchange(frame, self._seq, cmd)
        self.last_flags = dx.status_flags(reply.status)
        if check:
            self._check(reply)
        return reply

    async def _exchange(self, frame: bytes, seq: int, cmd: int) -> dx.Reply:
        sent = False
        for attempt in range(1, self.timing.attempts + 1):
            await self.transport.write(frame, self.timing.reply_timeout)
            sent = True
            self.round_trips += 1
            try:
                return await self._await_reply(seq, cmd)
            except _Resend as why:
                log.info(
                    "fiscal request resent with the same SEQ",
                    extra={"device": self.device_id, "cmd": f"{cmd:#04x}", "seq": seq, "attempt": attempt,
                           "why": str(why)},
                )  # fmt: skip
        raise DeviceOffline(
            f"{self.device_id}: no answer to command {cmd:#04x} after {self.timing.attempts} tries", sent=sent
        )

    async def _await_reply(self, seq: int, cmd: int) -> dx.Reply:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.reply_timeout
        busy_until = loop.time() + BUSY_LIMIT_S
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Resend("no answer in time")
            try:
                data = await self.transport.read(remaining)
            except Timeout:
                raise _Resend("no answer in time") from None
            for item in self._parser.feed(data):
                if isinstance(item, dx.Control):
                    if item.byte == dx.NAK:
                        raise _Resend("NAK")
                    # SYN: the device is working on it; wait another reply window.
                    deadline = min(loop.time() + self.timing.reply_timeout, busy_until)
                elif isinstance(item, dx.Corrupt):
                    log.warning("corrupt bytes from the fiscal device",
                                extra={"device": self.device_id, "reason": item.reason})  # fmt: skip
                elif item.seq == seq and item.cmd == cmd:
                    return item
                else:
                    # A late answer to an earlier request: never take it for this one.
                    log.warning("stale reply dropped", extra={"device": self.device_id, "seq": item.seq})

    def _check(self, reply: dx.Reply) -> None:
        flags = self.last_flags
        try:
            code = reply.error_code if reply.data else 0
        except FrameError as exc:
            raise ProtocolError(f"{self.device_id}: {exc}", sent=True) from None
        refusing = flags & dx.REFUSING
        if code >= 0 and not refusing:
            return
        detail = f"error {code}" + (f" ({', '.join(sorted(refusing))})" if refusing else "")
        if "paper_end" in flags:
            raise PaperOut(f"{self.device_id}: out of paper; command {reply.cmd:#04x} refused, {detail}")
        if "cover_open" in flags:
            raise CoverOpen(f"{self.device_id}: cover open; command {reply.cmd:#04x} refused, {detail}")
        raise DeviceRefused(
            f"{self.device_id}: command {reply.cmd:#04x} refused: {detail}", error_code=code, flags=refusing
        )


class _Resend(Exception):
    """Internal: the frame must go again with the same SEQ."""


async def drain(transport: Transport) -> None:
    """Read and drop whatever the device still has to say (after a reconnect)."""
    with contextlib.suppress(Timeout, DeviceError):
        while await transport.read(0.05):
            pass
