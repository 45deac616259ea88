"""The Datecs C link layer: one request at a time, resent with the same SEQ until answered.

The timing rules are the X protocol's (the reference sheet and the Datecs manuals):
- the device answers within 60 ms with a frame or one control byte;
- NAK (``15``) means our frame arrived damaged: send the same frame again;
- SYN (``16``), repeated every 60 ms, means "still working": keep waiting, the clock restarts;
- nothing within the reply timeout means the request or its answer was lost: send the same
  frame again with the **same SEQ**. The device remembers the SEQ of its last message and, on
  seeing it again, repeats its last reply instead of executing a second time. A new SEQ would
  register a second sale line or issue a second receipt.

Unlike the X protocol a C reply has no error code: whether a command was refused shows only in
the six status bytes, so they are read on every reply. A refused command changes nothing.

Paper end is a sensor bit set on every reply while the roll is empty. On a command that prints
it means "refused"; on a command that only reads (status, transaction status, device info, last
number) it is news about the printer, not a refusal, so a closed receipt can still be looked up
with the roll empty.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from drivers.errors import CoverOpen, DeviceOffline, PaperOut, ProtocolError, Timeout
from drivers.fiscal.datecs_x_link import BUSY_LIMIT_S, DeviceRefused, LinkTiming
from drivers.transports.base import Transport
from protocols.fiscal import datecs_c as dc

log = logging.getLogger(__name__)

# Commands that print nothing and change nothing: only their own refusal bits count.
READ_ONLY: Final = frozenset(
    {dc.STATUS, dc.TRANSACTION_STATUS, dc.DEVICE_INFO, dc.LAST_DOCUMENT, dc.GET_DATETIME}
)
# The bits a command sets for itself when it is refused (the rest describe the printer).
COMMAND_REFUSALS: Final = frozenset({"syntax_error", "invalid_command", "command_not_permitted", "overflow"})


class DatecsCLink:
    """Sends requests over a transport and returns replies checked against their status bits."""

    def __init__(
        self, transport: Transport, device_id: str, timing: LinkTiming, *, first_seq: int = dc.SEQ_FIRST
    ) -> None:
        self.transport = transport
        self.device_id = device_id
        self.timing = timing
        self._seq = first_seq
        self._parser = dc.HostParser()
        self._lock = asyncio.Lock()
        self.round_trips = 0
        self.last_flags: frozenset[str] = frozenset()

    def reset(self) -> None:
        """Forget half-read input (after a reconnect)."""
        self._parser = dc.HostParser()

    async def request(self, cmd: int, data: bytes = b"", *, check: bool = True) -> dc.Reply:
        """Send one command and return its reply; raises the typed device errors.

        Raises ``FieldError`` (before anything is sent) for DATA the frame cannot carry.
        """
        async with self._lock:
            # A collision costs one more SEQ (see _Collision); a second one means nonsense.
            for _ in range(2):
                self._seq = dc.next_seq(self._seq)
                frame = dc.encode_request(dc.Request(seq=self._seq, cmd=cmd, data=data))
                try:
                    reply = await self._exchange(frame, self._seq, cmd)
                    break
                except _Collision as exc:
                    log.warning("the device repeated an older reply; sending with a new SEQ",
                                extra={"device": self.device_id, "seq": self._seq, "other": exc.cmd})  # fmt: skip
            else:
                raise ProtocolError(f"{self.device_id}: replies to command {cmd:#04x} name other commands")
        self.last_flags = dc.status_flags(reply.status)
        if check:
            self._check(reply)
        return reply

    async def _exchange(self, frame: bytes, seq: int, cmd: int) -> dc.Reply:
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

    async def _await_reply(self, seq: int, cmd: int) -> dc.Reply:
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
                if isinstance(item, dc.Control):
                    if item.byte == dc.NAK:
                        raise _Resend("NAK")
                    # SYN: the device is working on it; wait another reply window, up to a limit.
                    deadline = min(loop.time() + self.timing.reply_timeout, busy_until)
                elif isinstance(item, dc.Corrupt):
                    log.warning("corrupt bytes from the fiscal device",
                                extra={"device": self.device_id, "reason": item.reason})  # fmt: skip
                elif item.seq != seq:
                    # A late answer to an earlier request: never take it for this one.
                    log.warning("stale reply dropped", extra={"device": self.device_id, "seq": item.seq})
                elif item.cmd != cmd:
                    # Our SEQ was the device's last one (another host, or this hub before a
                    # restart, used it): it repeated that reply and did not execute ours.
                    raise _Collision(item.cmd)
                else:
                    return item

    def _check(self, reply: dc.Reply) -> None:
        flags = self.last_flags
        refusing = flags & (COMMAND_REFUSALS if reply.cmd in READ_ONLY else dc.REFUSING)
        if not refusing:
            return
        detail = ", ".join(sorted(refusing))
        if "paper_end" in refusing:
            raise PaperOut(f"{self.device_id}: out of paper; command {reply.cmd:#04x} refused ({detail})")
        if "cover_open" in refusing:
            raise CoverOpen(f"{self.device_id}: cover open; command {reply.cmd:#04x} refused ({detail})")
        raise DeviceRefused(
            f"{self.device_id}: command {reply.cmd:#04x} refused ({detail})", error_code=0, flags=refusing
        )


class _Resend(Exception):
    """Internal: the frame must go again with the same SEQ."""


class _Collision(Exception):
    """Internal: the device repeated its last reply (to ``cmd``) instead of executing ours."""

    def __init__(self, cmd: int) -> None:
        super().__init__(f"reply to {cmd:#04x}")
        self.cmd = cmd
