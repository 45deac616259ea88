"""ESC/POS printer driver: print with confirmation, real-time status, drawer kick.

Replies from the printer arrive on one byte stream: real-time status bytes (``DLE EOT n``) and
process-id responses (``GS ( H``). A single reader task decodes them with the sans-I/O
``ReplyParser`` and hands each to whoever registered for it *before* the request was sent, so a
fast reply can never be missed (the zigpy-znp pattern). Status bytes carry no tag, so they are
matched to requests in order; when a status request goes unanswered the link is declared
offline and closed, because a late byte would otherwise be matched to the wrong question.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import Annotated, Literal

import msgspec

from drivers.base import DeviceHealth, HealthCallback, PrinterDriver
from drivers.discovery.base import FoundDevice
from drivers.errors import CoverOpen, DeviceError, DeviceOffline, PaperOut, ProtocolError, Timeout
from drivers.transports.base import Transport
from protocols.escpos import (
    STATUS_QUERY_ALL,
    EscposError,
    FlowControl,
    PrinterStatus,
    ProcessIdReply,
    ReplyParser,
    StatusByte,
    decode_status,
    process_id_request,
)

log = logging.getLogger(__name__)

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
_STATUS_ORDER = (1, 2, 3, 4)

# What marks a discovered device as an ESC/POS printer (reference sheet): the USB printer
# class 7 or a POS vendor id (Epson, Star, Bixolon, Citizen, Xprinter/generic x2), raw port
# 9100 announced over mDNS, the BLE printer services, or a serial port whose probe answered.
_USB_PRINTER_CLASS = 7
_POS_VENDOR_IDS = frozenset({0x04B8, 0x0519, 0x1504, 0x1D90, 0x0416, 0x0483})
_RAW_MDNS_SERVICE = "_pdl-datastream._tcp"
_BLE_PRINTER_SERVICES = frozenset({"18f0", "ffe0"})


class EscposOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of an ESC/POS printer in the config.

    ``confirm = "process_id"`` waits for the printer's ``GS ( H`` answer, which Epson TM
    printers send once everything before it has printed. Printers without it use
    ``"status"``: a job counts as printed when its bytes are written and the printer reports no
    fault.
    """

    confirm: Literal["process_id", "status"] = "process_id"
    connect_timeout: Seconds = 3.0
    reply_timeout: Seconds = 1.0
    write_timeout: Seconds = 15.0
    print_timeout: Seconds = 120.0
    poll_interval: Seconds = 1.0
    width: Annotated[int, msgspec.Meta(ge=24, le=64)] = 48
    language: str = ""
    drawer: bool = True


def health_from_status(status: PrinterStatus) -> DeviceHealth:
    """Map decoded real-time status to the hub's online/error view.

    ``paper_near_end`` is a warning: the printer is still online and prints.
    """
    conditions = tuple(status.problems())
    if any(condition != "paper_near_end" for condition in conditions):
        return DeviceHealth(state="error", conditions=conditions, detail=", ".join(conditions))
    return DeviceHealth(state="online", conditions=conditions)


def raise_for_health(health: DeviceHealth, *, sent: bool = False) -> None:
    """Raise the typed error for a health that cannot take a job."""
    if health.state == "online":
        return
    if "paper_out" in health.conditions:
        raise PaperOut("printer is out of paper", sent=sent)
    if "cover_open" in health.conditions:
        raise CoverOpen("printer cover is open", sent=sent)
    raise DeviceOffline(f"printer reports: {health.detail or health.state}", sent=sent)


class EscposPrinter(PrinterDriver):
    """An ESC/POS printer over any byte transport."""

    name = "escpos"
    Options = EscposOptions
    options: EscposOptions

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        """10 for anything that looks like an ESC/POS printer, 0 otherwise.

        Generic on purpose: a model-specific driver (Star raster) scores higher and wins. A
        printer announced only as ``_ipp._tcp``/``_printer._tcp`` scores 0: we speak neither
        IPP nor LPD, only raw ESC/POS on port 9100.
        """
        if found.bus == "usb":
            usb_printer = _USB_PRINTER_CLASS in found.usb_classes or found.vendor_id in _POS_VENDOR_IDS
            return 10 if usb_printer else 0
        if found.bus == "mdns":
            # Service types may come fully qualified ("_pdl-datastream._tcp.local.").
            types = {service.removesuffix(".").removesuffix(".local") for service in found.services}
            return 10 if _RAW_MDNS_SERVICE in types else 0
        if found.bus == "ble":
            return 10 if _BLE_PRINTER_SERVICES & {s.lower() for s in found.services} else 0
        # A serial port: only one whose (bounded, opt-in) probe got an ESC/POS answer.
        return 10 if found.properties.get("probe") == "escpos" else 0

    def __init__(self, device_id: str, transport: Transport, options: EscposOptions) -> None:
        super().__init__(device_id, transport, options)
        self._parser = ReplyParser()
        self._status_waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self._pid_waiters: dict[str, asyncio.Future[None]] = {}
        self._status_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._pid_counter = int(time.time()) % 10_000
        # Until this loop time the printer is known to be ready (it just answered or printed).
        self._ready_until = 0.0
        self._last_health = DeviceHealth(state="offline")

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)
        self._parser = ReplyParser()
        self._reader = asyncio.create_task(self._read_loop(), name=f"escpos-reader-{self.device_id}")

    async def close(self) -> None:
        self._ready_until = 0.0
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._fail_waiters(DeviceOffline(f"{self.device_id}: connection closed"))
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def _read_loop(self) -> None:
        while True:
            try:
                data = await self.transport.read(timeout=3600)
            except Timeout:
                continue
            except DeviceError as exc:
                self._fail_waiters(exc)
                return
            try:
                replies = self._parser.feed(data)
            except EscposError as exc:
                log.warning(
                    "undecodable reply from printer",
                    extra={"device": self.device_id, "error": str(exc)},
                )
                self._parser = ReplyParser()
                self._fail_waiters(ProtocolError(f"printer sent undecodable bytes: {exc}"))
                continue
            for reply in replies:
                self._dispatch(reply)

    def _dispatch(self, reply: StatusByte | ProcessIdReply | FlowControl) -> None:
        if isinstance(reply, StatusByte):
            while self._status_waiters:
                waiter = self._status_waiters.popleft()
                if not waiter.done():
                    waiter.set_result(reply.value)
                    return
            log.debug("unsolicited status byte", extra={"device": self.device_id})
        elif isinstance(reply, ProcessIdReply):
            pid_waiter = self._pid_waiters.pop(reply.id, None)
            if pid_waiter is not None and not pid_waiter.done():
                pid_waiter.set_result(None)

    def _fail_waiters(self, exc: DeviceError) -> None:
        waiters: list[asyncio.Future[int] | asyncio.Future[None]] = [
            *self._status_waiters,
            *self._pid_waiters.values(),
        ]
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(type(exc)(str(exc)))
                # Retrieve it here so an abandoned waiter doesn't log "exception never retrieved".
                waiter.exception()
        self._status_waiters.clear()
        self._pid_waiters.clear()

    async def _status(self) -> PrinterStatus:
        if self._reader is None or self._reader.done():
            raise DeviceOffline(f"{self.device_id}: not connected")
        loop = asyncio.get_running_loop()
        async with self._status_lock:
            waiters = [loop.create_future() for _ in _STATUS_ORDER]
            self._status_waiters.extend(waiters)
            await self.transport.write(STATUS_QUERY_ALL, self.options.reply_timeout)
            try:
                async with asyncio.timeout(self.options.reply_timeout):
                    values = [await waiter for waiter in waiters]
            except TimeoutError:
                self._status_waiters.clear()
                # A late answer would be taken for the next question: drop the link instead.
                await self.close()
                raise DeviceOffline(
                    f"{self.device_id}: no status answer within {self.options.reply_timeout:.1f}s"
                ) from None
        try:
            return decode_status(dict(zip(_STATUS_ORDER, values, strict=True)))
        except EscposError as exc:
            raise ProtocolError(f"bad status from printer: {exc}") from None

    async def health(self) -> DeviceHealth:
        health = health_from_status(await self._status())
        self._note_health(health)
        return health

    def _note_health(self, health: DeviceHealth) -> None:
        loop = asyncio.get_running_loop()
        self._ready_until = loop.time() + self.options.poll_interval if health.state == "online" else 0.0
        self._last_health = health

    async def ensure_ready(self) -> DeviceHealth:
        # A printer that answered or confirmed a print moments ago is not asked again: that
        # round trip would sit on every receipt's path. If it ran out of paper in between, it
        # holds the data and print() reports the hold, so nothing is lost either way.
        if asyncio.get_running_loop().time() < self._ready_until:
            return self._last_health
        health = await self.health()
        raise_for_health(health)
        return health

    def _next_pid(self) -> str:
        self._pid_counter = (self._pid_counter + 1) % 10_000
        return f"{self._pid_counter:04d}"

    async def print(self, data: bytes, *, on_health: HealthCallback | None = None) -> None:
        if self.options.confirm == "status":
            await self.transport.write(data, self.options.write_timeout)
            await self._check_after_send()
            return
        pid = self._next_pid()
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pid_waiters[pid] = confirmed  # registered before the bytes leave
        try:
            await self.transport.write(data + process_id_request(pid), self.options.write_timeout)
            await self._await_printed(confirmed, on_health)
            self._note_health(DeviceHealth(state="online", conditions=self._last_health.conditions))
        except DeviceError as exc:
            exc.sent = True
            raise
        finally:
            self._pid_waiters.pop(pid, None)

    async def _await_printed(self, confirmed: asyncio.Future[None], on_health: HealthCallback | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.print_timeout
        while True:
            done, _ = await asyncio.wait({confirmed}, timeout=self.options.poll_interval)
            if done:
                confirmed.result()
                return
            health = await self.health()
            if on_health is not None:
                await on_health(health)
            if health.state == "error":
                # Paper out or cover open: the printer keeps our data and finishes it once it
                # recovers, so the clock stops while it is held.
                deadline = loop.time() + self.options.print_timeout
            elif loop.time() > deadline:
                raise Timeout(
                    f"{self.device_id}: printing not confirmed within {self.options.print_timeout:.0f}s",
                    sent=True,
                )

    async def _check_after_send(self) -> None:
        # Without a process-id answer the best proof is that the printer still talks after
        # taking the bytes; paper out at this point means it holds them and prints on reload.
        try:
            await self.health()
        except DeviceError as exc:
            exc.sent = True
            raise
