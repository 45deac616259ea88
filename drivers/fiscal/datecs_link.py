"""What the Datecs X and C link layers share: one request at a time, resent with the same SEQ.

Timing rules of both protocols (reference sheet and the Datecs manuals):
- the device answers within 60 ms with a frame or one control byte;
- NAK (``15``) means our frame arrived damaged: send the same frame again;
- SYN (``16``), repeated every 60 ms, means "still working": keep waiting, the clock restarts;
- nothing within the reply timeout means the request or its answer was lost: send the same
  frame again, with the **same SEQ**. The device remembers the SEQ of its last message and,
  seeing it again, does not execute a second time but repeats its last reply. That is what makes
  a lost reply harmless: a new SEQ would print a second sale line or a second receipt.

The flip side: if our fresh SEQ happens to be the device's last one (another host, or this hub
before a restart, used it), the device repeats that old reply, to another command, and executes
nothing. Such a collision is answered by sending again with the next SEQ.

Subclasses give the codec (frames, parser, status flags) and how a reply is checked.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from drivers.errors import Declined, DeviceOffline, ProtocolError, Timeout
from drivers.transports.base import Transport

log = logging.getLogger(__name__)

# How long SYNs may keep us waiting in all: a Z report with a long electronic journal takes
# seconds, never minutes.
BUSY_LIMIT_S = 60.0
NAK = 0x15


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


class DatecsReply(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def cmd(self) -> int: ...

    @property
    def status(self) -> bytes: ...


R = TypeVar("R", bound=DatecsReply)


class DatecsLink(abc.ABC, Generic[R]):
    """Sends requests over a transport and returns replies checked by :meth:`_check`."""

    def __init__(self, transport: Transport, device_id: str, timing: LinkTiming, *, first_seq: int) -> None:
        self.transport = transport
        self.device_id = device_id
        self.timing = timing
        self._seq = first_seq
        self._parser = self._new_parser()
        self._lock = asyncio.Lock()
        self.round_trips = 0
        self.last_flags: frozenset[str] = frozenset()

    # -- the codec ------------------------------------------------------------------------
    @abc.abstractmethod
    def _new_parser(self) -> Any:
        """The codec's host parser: ``feed(bytes)`` gives replies, control bytes, corrupt notes."""

    @abc.abstractmethod
    def _frame(self, seq: int, cmd: int, data: bytes) -> bytes: ...

    @abc.abstractmethod
    def _next_seq(self, seq: int) -> int: ...

    @abc.abstractmethod
    def _is_reply(self, item: object) -> bool: ...

    @abc.abstractmethod
    def _flags(self, reply: R) -> frozenset[str]: ...

    @abc.abstractmethod
    def _check(self, reply: R) -> None:
        """Raise the typed error when ``reply`` says the command was refused."""

    # -- the link -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget half-read input (after a reconnect)."""
        self._parser = self._new_parser()

    async def request(self, cmd: int, data: bytes = b"", *, check: bool = True) -> R:
        """Send one command and return its reply; raises the typed device errors.

        Raises the codec's ``FieldError`` (before anything is sent) for DATA no frame can carry.
        """
        async with self._lock:
            # A collision costs one more SEQ; a second one in a row means nonsense.
            for _ in range(2):
                self._seq = self._next_seq(self._seq)
                frame = self._frame(self._seq, cmd, data)
                try:
                    reply = await self._exchange(frame, self._seq, cmd)
                    break
                except _Collision as exc:
                    log.warning("the device repeated an older reply; sending with a new SEQ",
                                extra={"device": self.device_id, "seq": self._seq, "other": exc.cmd})  # fmt: skip
            else:
                raise ProtocolError(f"{self.device_id}: replies to command {cmd:#04x} name other commands")
        self.last_flags = self._flags(reply)
        if check:
            self._check(reply)
        return reply

    async def _exchange(self, frame: bytes, seq: int, cmd: int) -> R:
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

    async def _await_reply(self, seq: int, cmd: int) -> R:
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
                if self._is_reply(item):
                    reply: R = item
                    if reply.seq != seq:
                        # A late answer to an earlier request: never take it for this one.
                        log.warning("stale reply dropped", extra={"device": self.device_id, "seq": reply.seq})
                    elif reply.cmd != cmd:
                        raise _Collision(reply.cmd)
                    else:
                        return reply
                elif hasattr(item, "byte"):
                    if item.byte == NAK:
                        raise _Resend("NAK")
                    # SYN: the device is working on it; wait another reply window, up to a limit.
                    deadline = min(loop.time() + self.timing.reply_timeout, busy_until)
                else:
                    log.warning("corrupt bytes from the fiscal device",
                                extra={"device": self.device_id, "reason": getattr(item, "reason", "")})  # fmt: skip


class _Resend(Exception):
    """Internal: the frame must go again with the same SEQ."""


class _Collision(Exception):
    """Internal: the device repeated its last reply (to ``cmd``) instead of executing ours."""

    def __init__(self, cmd: int) -> None:
        super().__init__(f"reply to {cmd:#04x}")
        self.cmd = cmd
