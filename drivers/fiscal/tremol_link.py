"""The Tremol ZFP link layer: one request at a time, resent with the same NBL until answered.

What the device answers (reference sheet, Tremol's ZFP description):
- a message response (a frame like the request) for a command that returns data, or an
  acknowledgement ``06 NBL STE1 STE2`` for one that does not *and for every refused command*:
  STE1 names the device condition behind the error, STE2 the command error, ``30 30`` is done.
  So an acknowledgement is read on every reply, and an error in it is a typed exception;
- NACK (``15``): our frame arrived damaged, send the same frame again;
- RETRY (``0E``): busy with the command, keep waiting (the clock restarts on each one);
- PING (``09``, outside frames) is answered at once with one byte, even mid-command: ``40``
  ready, bit 0 busy, bit 1 out of paper; ``50``/``60``/``70`` are the LAN password states.

Nothing within the reply timeout: the link first pings. A busy device is left to work; an idle
one lost the request or its answer, and the same frame goes again with the **same NBL**. The
device keeps the NBL of its last message and, seeing it again, repeats its reply instead of
executing twice. That is what makes a lost answer to "close" harmless.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from drivers.errors import DeviceOffline, PaperOut, ProtocolError, Timeout
from drivers.fiscal.datecs_link import BUSY_LIMIT_S, DeviceRefused, LinkTiming
from drivers.transports.base import Transport
from protocols.fiscal import tremol as tr

log = logging.getLogger(__name__)

OUT_OF_PAPER = 0x31  # STE1
LAN_STATES = {
    "waiting_for_password": "the device waits for its LAN password (set options.lan_password)",
    "other_connection": "another host holds the device's LAN connection",
    "wrong_password": "the device refused the LAN password (options.lan_password)",
}


class TremolRefused(DeviceRefused):
    """The device acknowledged a command with an error; ``error_code`` is ``STE1 << 8 | STE2``."""

    def __init__(self, message: str, ack: tr.Ack) -> None:
        names = frozenset(name for name in (ack.device_error, ack.command_error) if name)
        super().__init__(message, error_code=ack.ste1 << 8 | ack.ste2, flags=names)
        self.ack = ack


class TremolLink:
    """Sends requests over a transport and returns checked answers."""

    def __init__(
        self, transport: Transport, device_id: str, timing: LinkTiming, *, first_nbl: int = tr.NBL_FIRST
    ) -> None:
        self.transport = transport
        self.device_id = device_id
        self.timing = timing
        self._nbl = first_nbl
        self._parser = tr.HostParser()
        self._lock = asyncio.Lock()
        self.round_trips = 0

    def reset(self) -> None:
        """Forget half-read input (after a reconnect)."""
        self._parser = tr.HostParser()

    async def answer(self, cmd: int, data: bytes = b"") -> tr.Answer:
        """A command that returns data; its answer, or the typed error of its refusal."""
        reply = await self._request(cmd, data, wants_data=True)
        if isinstance(reply, tr.Ack):
            self._refused(reply, cmd)
        assert isinstance(reply, tr.Answer)
        return reply

    async def command(self, cmd: int, data: bytes = b"") -> None:
        """A command without output; raises the typed error when it is refused."""
        reply = await self._request(cmd, data, wants_data=False)
        assert isinstance(reply, tr.Ack)
        if not reply.ok:
            self._refused(reply, cmd)

    async def ping(self) -> tr.PingReply:
        """The device's one-byte state; raises ``DeviceOffline`` when it stays silent."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            for _ in range(self.timing.attempts):
                await self.transport.write(bytes((tr.PING,)), self.timing.reply_timeout)
                deadline = loop.time() + self.timing.reply_timeout
                while (remaining := deadline - loop.time()) > 0:
                    try:
                        data = await self.transport.read(remaining)
                    except Timeout:
                        break
                    replies = [i for i in self._parser.feed(data) if isinstance(i, tr.PingReply)]
                    if replies:
                        return replies[-1]
        raise DeviceOffline(f"{self.device_id}: no answer to PING")

    async def send_password(self, password: str) -> None:
        """Over LAN the first bytes are the device's password, ended by LF; then check by PING."""
        await self.transport.write(password.encode("cp1251") + b"\n", self.timing.reply_timeout)
        state = await self.ping()
        for flag in state.flags & LAN_STATES.keys():
            raise DeviceOffline(f"{self.device_id}: {LAN_STATES[flag]}")

    async def _request(self, cmd: int, data: bytes, *, wants_data: bool) -> tr.Answer | tr.Ack:
        async with self._lock:
            # A collision costs one more NBL (see _Collision); a second one means nonsense.
            for _ in range(2):
                self._nbl = tr.next_nbl(self._nbl)
                frame = tr.encode_request(tr.Request(nbl=self._nbl, cmd=cmd, data=data))
                try:
                    return await self._exchange(frame, self._nbl, cmd, wants_data)
                except _Collision:
                    log.warning("the device repeated an older reply; sending with a new NBL",
                                extra={"device": self.device_id, "nbl": self._nbl})  # fmt: skip
        raise ProtocolError(f"{self.device_id}: replies to command {cmd:#04x} belong to other commands")

    async def _exchange(self, frame: bytes, nbl: int, cmd: int, wants_data: bool) -> tr.Answer | tr.Ack:
        sent = False
        for attempt in range(1, self.timing.attempts + 1):
            await self.transport.write(frame, self.timing.reply_timeout)
            sent = True
            self.round_trips += 1
            try:
                return await self._await_reply(nbl, cmd, wants_data)
            except _Resend as why:
                log.info(
                    "fiscal request resent with the same NBL",
                    extra={"device": self.device_id, "cmd": f"{cmd:#04x}", "nbl": nbl, "attempt": attempt,
                           "why": str(why)},
                )  # fmt: skip
        raise DeviceOffline(
            f"{self.device_id}: no answer to command {cmd:#04x} after {self.timing.attempts} tries", sent=sent
        )

    async def _await_reply(self, nbl: int, cmd: int, wants_data: bool) -> tr.Answer | tr.Ack:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.reply_timeout
        busy_until = loop.time() + BUSY_LIMIT_S
        pinged = False
        while True:
            if deadline - loop.time() <= 0:
                if pinged:
                    raise _Resend("no answer, and none to PING")
                # Silence: ask whether the device is still working before resending.
                await self.transport.write(bytes((tr.PING,)), self.timing.reply_timeout)
                pinged, deadline = True, loop.time() + self.timing.reply_timeout
                continue
            try:
                data = await self.transport.read(deadline - loop.time())
            except Timeout:
                continue
            for item in self._parser.feed(data):
                busy = isinstance(item, tr.Control) and item.byte == tr.RETRY
                if isinstance(item, tr.Control) and not busy:
                    raise _Resend("NACK")
                if isinstance(item, tr.PingReply):
                    if not pinged:
                        continue  # a late answer to an earlier PING
                    if item.flags & LAN_STATES.keys():
                        raise DeviceOffline(f"{self.device_id}: {LAN_STATES[min(item.flags)]}")
                    if "busy" not in item.flags:
                        raise _Resend("the device is idle and its answer never came")
                    busy, pinged = True, False
                if busy:
                    if loop.time() >= busy_until:
                        raise _Resend(f"busy for more than {BUSY_LIMIT_S:.0f}s")
                    deadline = min(loop.time() + self.timing.reply_timeout, busy_until)
                elif isinstance(item, tr.Corrupt):
                    log.warning("corrupt bytes from the fiscal device",
                                extra={"device": self.device_id, "reason": item.reason})  # fmt: skip
                elif isinstance(item, tr.Ack | tr.Answer):
                    if item.nbl != nbl:
                        # A late answer to an earlier request: never take it for this one.
                        log.warning("stale reply dropped", extra={"device": self.device_id, "nbl": item.nbl})
                        continue
                    # Our NBL was the device's last one, so it repeated that reply: a data answer
                    # to another command, data where none is due, or "done" where data is due.
                    if isinstance(item, tr.Answer) and (item.cmd != cmd or not wants_data):
                        raise _Collision
                    if isinstance(item, tr.Ack) and wants_data and item.ok:
                        raise _Collision
                    return item

    def _refused(self, ack: tr.Ack, cmd: int) -> NoReturn:
        detail = ", ".join(name for name in (ack.device_error, ack.command_error) if name)
        if ack.ste1 == OUT_OF_PAPER:
            raise PaperOut(f"{self.device_id}: out of paper; command {cmd:#04x} refused ({detail})")
        raise TremolRefused(f"{self.device_id}: command {cmd:#04x} refused ({detail})", ack)


class _Resend(Exception):
    """Internal: the frame must go again with the same NBL."""


class _Collision(Exception):
    """Internal: the device repeated its last reply instead of executing ours."""
