"""The Datecs C link layer (see :mod:`drivers.fiscal.datecs_link` for the timing rules).

Unlike the X protocol a C reply has no error code: whether a command was refused shows only in
the six status bytes, so they are read on every reply. A refused command changes nothing.

Paper end is a sensor bit set on every reply while the roll is empty. On a command that prints
it means "refused"; on a command that only reads (status, transaction status, device info, last
number) it is news about the printer, not a refusal, so a closed receipt can still be looked up
with the roll empty.
"""

from __future__ import annotations

from typing import Any, Final

from drivers.errors import CoverOpen, PaperOut
from drivers.fiscal.datecs_link import DatecsLink, DeviceRefused, LinkTiming
from drivers.transports.base import Transport
from protocols.fiscal import datecs_c as dc

# Commands that print nothing and change nothing: only their own refusal bits count.
READ_ONLY: Final = frozenset(
    {dc.STATUS, dc.TRANSACTION_STATUS, dc.DEVICE_INFO, dc.LAST_DOCUMENT, dc.GET_DATETIME}
)
# The bits a command sets for itself when it is refused (the rest describe the printer).
COMMAND_REFUSALS: Final = frozenset({"syntax_error", "invalid_command", "command_not_permitted", "overflow"})


class DatecsCLink(DatecsLink[dc.Reply]):
    """Sends C-protocol requests and returns replies checked against their status bits."""

    def __init__(
        self, transport: Transport, device_id: str, timing: LinkTiming, *, first_seq: int = dc.SEQ_FIRST
    ) -> None:
        super().__init__(transport, device_id, timing, first_seq=first_seq)

    def _new_parser(self) -> Any:
        return dc.HostParser()

    def _frame(self, seq: int, cmd: int, data: bytes) -> bytes:
        return dc.encode_request(dc.Request(seq=seq, cmd=cmd, data=data))

    def _next_seq(self, seq: int) -> int:
        return dc.next_seq(seq)

    def _is_reply(self, item: object) -> bool:
        return isinstance(item, dc.Reply)

    def _flags(self, reply: dc.Reply) -> frozenset[str]:
        return dc.status_flags(reply.status)

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
