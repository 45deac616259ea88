"""One ZVT command from the ECR's first byte to the terminal's last word.

The ECR sends a command and waits (``ack_timeout``) for ``80 00 00``; a ``84 xx`` is a
refusal. From then on the terminal is master: it sends intermediate statuses, status
information, print lines and finally a completion (``06 0F``) or an abort (``06 1E``). The ECR
acknowledges every one of them with ``80 00 00``, since a terminal that hears no
acknowledgement repeats itself or gives up.

The terminal may stay silent for a long time while the card holder looks for a card or types
a PIN, so the wait between two messages is ``silence`` (the card timeout), not the short
acknowledgement timeout. When that runs out the ECR sends its own abort (``06 B0``) and waits
``abort_grace`` more for the terminal to end the command; a terminal that still says nothing
leaves the outcome open and :class:`~drivers.errors.Timeout` is raised: only asking the
terminal afterwards (``last_result``) can tell what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from drivers.errors import Busy, DeviceError, ProtocolError, Timeout
from drivers.payments.zvt_link import ZvtLink
from protocols.payments import zvt
from protocols.payments import zvt_messages as msg
from protocols.payments.errors import ZvtError
from protocols.payments.zvt_codes import result_message
from protocols.payments.zvt_frame import Apdu

log = logging.getLogger(__name__)

StatusSink = Callable[[msg.IntermediateStatus], Awaitable[None]]


@dataclass(slots=True)
class RunResult:
    """Everything the terminal said while running one command."""

    infos: list[msg.StatusInfo] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    statuses: list[msg.IntermediateStatus] = field(default_factory=list)
    end: msg.Completion | msg.TerminalAbort | None = None
    abort_sent: bool = False
    garbled: int = 0

    @property
    def info(self) -> msg.StatusInfo | None:
        """The last status information (the transaction's result)."""
        return self.infos[-1] if self.infos else None


@dataclass(frozen=True, slots=True)
class SessionTiming:
    ack_timeout: float = 5.0
    abort_grace: float = 5.0


class ZvtSession:
    """Runs commands one at a time over a :class:`ZvtLink`; :meth:`abort` may cut in."""

    def __init__(self, link: ZvtLink, device_id: str, timing: SessionTiming) -> None:
        self.link = link
        self.device_id = device_id
        self.timing = timing
        self._current: RunResult | None = None

    @property
    def running(self) -> bool:
        return self._current is not None

    async def abort(self) -> bool:
        """Send ``06 B0`` if a command runs; True if it was sent. The command itself reports
        how it ended (normally a ``06 1E`` from the terminal)."""
        current = self._current
        if current is None or current.abort_sent:
            return False
        current.abort_sent = True
        await self.link.send(zvt.ecr_abort())
        return True

    async def run(
        self,
        apdu: Apdu,
        *,
        silence: float,
        on_status: StatusSink | None = None,
        after_status_enquiry: bool = False,
        expect_end: bool = True,
    ) -> RunResult:
        """Send ``apdu`` and follow the terminal until it ends the command.

        ``expect_end=False`` is for commands answered by the acknowledgement alone (log-off).
        Raises ``Busy`` when the terminal refuses the command, ``Timeout`` when it goes silent,
        ``DeviceOffline`` when the link breaks.
        """
        stale = self.link.drain()
        if stale:
            log.info("stale terminal messages dropped", extra={"device": self.device_id, "count": len(stale)})
        result = RunResult()
        self._current = result
        try:
            await self.link.send(apdu)
            first = await self.link.receive(self.timing.ack_timeout)
            message = self._parse(first, result, after_status_enquiry)
            if isinstance(message, msg.NegativeAck):
                raise Busy(
                    f"{self.device_id}: the terminal refused {apdu.cls:02X} {apdu.instr:02X}: "
                    f"{result_message(message.code)}",
                    sent=True,
                )
            if not expect_end:
                return result
            # Some terminals start answering without the acknowledgement; take it as one.
            if not isinstance(message, msg.PositiveAck) and await self._handle(message, result, on_status):
                return result
            await self._follow(result, silence, on_status, after_status_enquiry)
            return result
        finally:
            self._current = None

    async def settle(self, quiet: float = 0.25, limit: float = 5.0) -> int:
        """Acknowledge whatever the terminal still sends (the tail of a transaction whose ECR
        gave up on it) until it is quiet for ``quiet`` seconds; returns the count acknowledged.

        A terminal waits for each acknowledgement before its next message, so answering them
        lets it finish and become ready for the next command sooner.
        """
        if self._current is not None:
            return 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        count = 0
        while loop.time() < deadline:
            try:
                apdu = await self.link.receive(quiet)
            except Timeout:
                break
            if apdu.command not in (zvt.POSITIVE_ACK,) and apdu.cls != zvt.NEGATIVE_ACK_CLASS:
                await self.link.send(zvt.ACK)
                count += 1
        return count

    async def _follow(
        self, result: RunResult, silence: float, on_status: StatusSink | None, after_status_enquiry: bool
    ) -> None:
        grace_left = True
        while True:
            wait = self.timing.abort_grace if result.abort_sent and not grace_left else silence
            try:
                apdu = await self.link.receive(wait)
            except Timeout:
                if result.abort_sent and not grace_left:
                    raise Timeout(
                        f"{self.device_id}: the terminal said nothing for {silence:.0f}s and did not end "
                        "the transaction after the ECR's abort; its outcome must be asked for",
                        sent=True,
                    ) from None
                if not result.abort_sent:
                    with contextlib.suppress(DeviceError):
                        await self.abort()
                grace_left = False
                continue
            message = self._parse(apdu, result, after_status_enquiry)
            if isinstance(message, msg.PositiveAck | msg.NegativeAck):
                # The answer to our 06 B0: 80 00 taken, 84 xx too late to abort. Nothing to ack.
                continue
            if await self._handle(message, result, on_status):
                return

    def _parse(self, apdu: Apdu, result: RunResult, after_status_enquiry: bool) -> msg.TerminalMessage:
        try:
            return msg.parse_message(apdu, after_status_enquiry=after_status_enquiry)
        except ZvtError as exc:
            result.garbled += 1
            log.warning(
                "unreadable terminal message",
                extra={"device": self.device_id, "apdu": str(apdu), "error": str(exc)},
            )
            return msg.OtherMessage(apdu)

    async def _handle(
        self, message: msg.TerminalMessage, result: RunResult, on_status: StatusSink | None
    ) -> bool:
        """Acknowledge and record one message; True when it ended the command."""
        if isinstance(message, msg.PositiveAck | msg.NegativeAck):
            raise ProtocolError(
                f"{self.device_id}: unexpected {message} while the terminal is master", sent=True
            )
        await self.link.send(zvt.ACK)
        if isinstance(message, msg.IntermediateStatus):
            result.statuses.append(message)
            if on_status is not None:
                await on_status(message)
        elif isinstance(message, msg.StatusInfo):
            result.infos.append(message)
        elif isinstance(message, msg.PrintLine):
            result.lines.extend([""] * message.feeds if message.attribute == 0xFF else [message.text])
        elif isinstance(message, msg.TextBlock):
            result.lines.extend(message.lines)
        elif isinstance(message, msg.Completion | msg.TerminalAbort):
            result.end = message
            return True
        return False
