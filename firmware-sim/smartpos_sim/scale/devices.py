"""The scale's end of the serial line, one class per protocol, over a pty.

Each class reads what the host sends, answers as the scale would, and counts the commands
it took. Two fault switches, set on the control port, act on every protocol:

* ``silent``: the scale answers nothing (a cable pulled at the scale end, a scale switched
  off); the host's requests still arrive and are counted.
* ``garbage_next``: the next answer is replaced by bytes that are no valid answer of the
  protocol (line noise, a wrong baud rate), then answers are normal again.

Line settings (Toledo 7E1, the others 8N1) belong to a real UART. A pty has no baud rate:
the bytes go through as they are, and the Toledo device just sends its 7-bit ASCII. (A
Linux pty keeps only 8N1, so a host opens the Toledo link 8N1; see the CLI's docstring.) The Toledo device masks bit 7 of what it reads, as a 7-bit UART drops parity.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import ClassVar

from protocols.scales import cas, sics, toledo
from protocols.scales.common import FrameError
from smartpos_sim.pty_link import PtyTransport
from smartpos_sim.scale.model import Scale

# Garbage per protocol: each fails the host's decoder rather than being skipped as noise.
TOLEDO_GARBAGE = b"\x02%%%\r"
SICS_GARBAGE = b"S S ??? g\r\n"


class ScaleDevice(asyncio.Protocol):
    """What the three protocols share: the link, the faults, the command count."""

    protocol_name: ClassVar[str]
    garbage: ClassVar[bytes] = b"\x7f"

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.commands = 0
        self.silent = False
        self.garbage_next = False
        self._transport: PtyTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, PtyTransport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def answer(self, data: bytes) -> None:
        """Send ``data`` unless a fault swallows or replaces it."""
        if self.silent or self._transport is None:
            return
        if self.garbage_next:
            self.garbage_next = False
            data = self.garble(data)
        self._transport.write(data)

    def garble(self, data: bytes) -> bytes:
        """What ``garbage_next`` sends instead of ``data``: the protocol's garbage line."""
        return self.garbage


class ToledoDevice(ScaleDevice):
    """A Toledo 8217 scale: one letter per command, answers framed ``02 ... 0D``."""

    protocol_name = "toledo"
    garbage = TOLEDO_GARBAGE

    def __init__(self, scale: Scale) -> None:
        super().__init__(scale)
        self.echo = False

    def data_received(self, data: bytes) -> None:
        for byte in data:
            self._take(byte & 0x7F)

    def status(self) -> toledo.ToledoStatus:
        scale = self.scale
        return toledo.ToledoStatus.of(
            motion=scale.motion,
            over_capacity=scale.overload,
            under_zero=scale.underload or scale.net_mg < 0,
            outside_zero_capture=scale.outside_zero_range,
            centre_of_zero=scale.at_zero,
        )

    def _take(self, byte: int) -> None:
        letter = chr(byte)
        if self.echo and letter != "F":
            # Echo mode: every character but F comes straight back, unframed.
            self.answer(bytes([byte]))
            return
        self.commands += 1
        if letter == "W":
            self.answer(self._weight())
        elif letter == "Z":
            self.scale.zero()  # like the key: a refusal shows in the status bits
            self.answer(toledo.encode_status(self.status()))
        elif letter in ("E", "F"):
            self.echo = letter == "E"
            self.answer(toledo.encode_ack(letter))
        elif letter == "A":
            self.answer(toledo.encode_ack("?"))
        else:
            self.answer(toledo.encode_status(self.status()))

    def _weight(self) -> bytes:
        status = self.status()
        if status.motion or status.over_capacity or status.under_zero:
            return toledo.encode_status(status)
        return toledo.encode_weight(self.scale.displayed(), self.scale.decimals)


class SicsDevice(ScaleDevice):
    """An MT-SICS balance: CR LF lines, one command at a time, ``@`` cancelling at once.

    ``S``, ``Z`` and ``T`` need a still platform: while it moves they wait up to
    ``stability_timeout`` seconds for it to settle and then answer ``I`` (not executable),
    as a balance does when stability is not reached in time. Commands that arrive meanwhile
    wait their turn; ``@`` cancels the waiting and queued ones and is answered at once.
    """

    protocol_name = "sics"
    garbage = SICS_GARBAGE

    def __init__(self, scale: Scale, *, serial: str, stability_timeout: float) -> None:
        super().__init__(scale)
        self.serial = serial
        self.stability_timeout = stability_timeout
        self._lines = sics.LineFramer()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._running: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        scale.on_change(self._check_settled)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._worker = asyncio.get_running_loop().create_task(self._work())

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        for task in (self._running, self._worker):
            if task is not None:
                task.cancel()

    def data_received(self, data: bytes) -> None:
        self._lines.feed(data)
        while True:
            try:
                line = self._lines.next()
            except FrameError:
                self.commands += 1
                self.answer(sics.encode_error("ES"))
                continue
            if line is None:
                return
            if line.strip() == b"@":
                self._reset()
            else:
                self._queue.put_nowait(line)

    def _reset(self) -> None:
        """``@``: drop what is queued or waiting, clear the tare, answer with the serial number."""
        self.commands += 1
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._running is not None:
            self._running.cancel()
        self.scale.clear_tare()
        self.answer(sics.encode_data("I4", "A", self.serial))

    def _check_settled(self) -> None:
        if not self.scale.motion:
            self._settled.set()

    async def _work(self) -> None:
        while True:
            line = await self._queue.get()
            self._running = asyncio.get_running_loop().create_task(self._execute(line))
            # wait() rather than await: a command cancelled by @ must not end this loop.
            await asyncio.wait([self._running])
            self._running = None

    async def _execute(self, line: bytes) -> None:
        self.commands += 1
        try:
            command = sics.parse_command(line)
        except FrameError:
            faulty = any(b < 0x20 or b == 0x7F for b in line)
            self.answer(sics.encode_error("ET" if faulty else "ES"))
            return
        handler = {
            "S": self._send_stable,
            "SI": self._send_immediate,
            "Z": self._zero,
            "T": self._tare,
            "I4": self._serial_number,
        }.get(command.name)
        if handler is None:
            self.answer(sics.encode_error("ES"))
        elif command.params:
            self.answer(sics.encode_error("EL"))  # known, but these take no parameters
        else:
            await handler()

    async def _still(self) -> bool:
        """Wait up to the stability timeout for the platform to settle; whether it did."""
        if not self.scale.motion:
            return True
        self._settled.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), self.stability_timeout)
        return not self.scale.motion

    def _weight_line(self, dynamic: bool) -> bytes:
        scale = self.scale
        if scale.overload:
            return sics.encode_status("S", "+")
        if scale.underload:
            return sics.encode_status("S", "-")
        return sics.encode_weight("S", "D" if dynamic else "S", scale.displayed(), scale.unit)

    async def _send_stable(self) -> None:
        if self.scale.overload or self.scale.underload:
            self.answer(self._weight_line(False))
        elif not await self._still():
            self.answer(sics.encode_status("S", "I"))
        else:
            self.answer(self._weight_line(False))

    async def _send_immediate(self) -> None:
        self.answer(self._weight_line(self.scale.motion))

    async def _zero(self) -> None:
        refusal = self.scale.zero() if await self._still() else "motion"
        self.answer(sics.encode_status("Z", {None: "A", "motion": "I", "above": "+", "below": "-"}[refusal]))

    async def _tare(self) -> None:
        refusal = self.scale.tare() if await self._still() else "motion"
        if refusal is None:
            scale = self.scale
            self.answer(sics.encode_weight("T", "S", scale.displayed(scale.tare_mg), scale.unit))
        else:
            self.answer(sics.encode_status("T", {"motion": "I", "above": "+", "below": "-"}[refusal]))

    async def _serial_number(self) -> None:
        self.answer(sics.encode_data("I4", "A", self.serial))


class CasDevice(ScaleDevice):
    """A CAS scale in ECR type 6: ENQ is acknowledged, then DC1 gets the weight frame.

    A DC1 without a preceding ENQ gets NAK; every other byte is line noise and ignored.
    """

    protocol_name = "cas"

    def __init__(self, scale: Scale) -> None:
        super().__init__(scale)
        self._asked = False

    def data_received(self, data: bytes) -> None:
        for byte in data:
            if byte == cas.ENQ:
                self.commands += 1
                self._asked = True
                self.answer(bytes([cas.ACK]))
            elif byte == cas.DC1:
                self.commands += 1
                self.answer(self.frame() if self._asked else bytes([cas.NAK]))
                self._asked = False

    def garble(self, data: bytes) -> bytes:
        if len(data) == cas.FRAME_LENGTH:
            return data[:12] + bytes([data[12] ^ 0x5A]) + data[13:]  # a wrong BCC
        return self.garbage  # 7F: no byte the exchange knows

    def frame(self) -> bytes:
        scale = self.scale
        value = scale.displayed()
        sign: cas.Sign = "F" if scale.overload else ("-" if value < 0 or scale.underload else " ")
        try:
            text = cas.format_weight(value, scale.decimals)
        except ValueError:
            # Only an overload can go past the six characters; its number means nothing.
            text = cas.format_weight(Decimal(0), scale.decimals).replace("0", "9")
        still = not (scale.motion or scale.overload or scale.underload)
        return cas.encode_frame(stable=still, sign=sign, text=text, unit=scale.unit.ljust(2))
