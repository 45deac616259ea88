"""The Datecs X link layer (see :mod:`drivers.fiscal.datecs_link` for the timing rules).

A reply is checked twice: its ``ErrorCode`` field and its status bits. Either can say the
command was refused; reading only one is how other servers report "OK" for a refused receipt.
"""

from __future__ import annotations

import contextlib
from typing import Any

from drivers.errors import CoverOpen, DeviceError, PaperOut, ProtocolError, Timeout
from drivers.fiscal.datecs_link import BUSY_LIMIT_S, DatecsLink, DeviceRefused, LinkTiming
from drivers.transports.base import Transport
from protocols.fiscal import datecs_x as dx
from protocols.fiscal.errors import FrameError

__all__ = ["BUSY_LIMIT_S", "DatecsXLink", "DeviceRefused", "LinkTiming", "drain"]


class DatecsXLink(DatecsLink[dx.Reply]):
    """Sends X-protocol requests and returns replies checked by error code and status bits."""

    def __init__(
        self, transport: Transport, device_id: str, timing: LinkTiming, *, first_seq: int = 0x20
    ) -> None:
        super().__init__(transport, device_id, timing, first_seq=first_seq)

    def _new_parser(self) -> Any:
        return dx.HostParser()

    def _frame(self, seq: int, cmd: int, data: bytes) -> bytes:
        return dx.encode_request(dx.Request(seq=seq, cmd=cmd, data=data))

    def _next_seq(self, seq: int) -> int:
        return dx.next_seq(seq)

    def _is_reply(self, item: object) -> bool:
        return isinstance(item, dx.Reply)

    def _flags(self, reply: dx.Reply) -> frozenset[str]:
        return dx.status_flags(reply.status)

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


async def drain(transport: Transport) -> None:
    """Read and drop whatever the device still has to say (after a reconnect)."""
    with contextlib.suppress(Timeout, DeviceError):
        while await transport.read(0.05):
            pass
