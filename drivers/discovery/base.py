"""What a discovery backend reports, and the two shapes a backend can take.

A backend watches one bus (USB, serial, mDNS, Bluetooth LE) and tells a sink when a device
appears or goes away. It never opens a device another part of the hub owns and never decides
which driver takes it: claiming is the device registry's job (:func:`DeviceDriver.supports`),
so a bus can be watched without knowing any driver.

Ids are stable across reboots and replugs: a USB serial number (or the port path when the
device has none), a serial port's ``/dev/serial/by-id`` path, an mDNS instance name, a BLE
address. Never a vendor:product counter, which changes with plug order.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

log = logging.getLogger(__name__)

Bus = Literal["usb", "serial", "mdns", "ble"]


class FoundDevice(msgspec.Struct, frozen=True, kw_only=True):
    """One device seen on a bus.

    ``url`` is the transport URL a driver would open (``usb://04b8:0e15?serial=X``,
    ``serial:///dev/serial/by-id/...``, ``tcp://10.0.0.7:9100``, ``ble://AA:BB:...``).
    ``properties`` holds what the bus told about it: mDNS TXT records, a serial probe's
    answer (``probe = "escpos"``), a BLE name.
    """

    id: str
    bus: Bus
    url: str
    name: str = ""
    vendor_id: int | None = None
    product_id: int | None = None
    serial: str = ""
    # USB class codes of the device and of its interfaces (7 is the printer class).
    usb_classes: tuple[int, ...] = ()
    # mDNS service type (``_pdl-datastream._tcp``) or BLE service UUIDs (lower-case, 16-bit
    # ones as 4 hex digits such as ``18f0``).
    services: tuple[str, ...] = ()
    properties: dict[str, str] = {}


class DiscoverySink(Protocol):
    """Where a backend reports. Both calls are cheap and never block."""

    def appeared(self, found: FoundDevice) -> None:
        """A device was seen for the first time, or what is known about it changed."""

    def disappeared(self, device_id: str) -> None:
        """A device reported earlier is gone (unplugged, stopped advertising)."""


class DiscoveryBackend(abc.ABC):
    """Watches one bus. ``start`` returns once watching has begun; ``stop`` must not raise."""

    bus: Bus

    @abc.abstractmethod
    async def start(self, sink: DiscoverySink) -> None:
        """Begin watching and report every device already present to ``sink``."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop watching and release what the backend holds."""


class PollingBackend(DiscoveryBackend):
    """A backend for buses without change notifications: scan, diff with the last scan, report.

    A scan is a cheap listing (a directory, the USB descriptor tree), so polling every second
    or two notices a replug within a few seconds at a negligible cost. ``scan`` may run
    blocking code in a thread; a failing scan is logged and keeps the previous picture,
    so one bad read does not make every device "disappear" and come back.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._known: dict[str, FoundDevice] = {}
        self._task: asyncio.Task[None] | None = None
        self._sink: DiscoverySink | None = None

    @abc.abstractmethod
    async def scan(self) -> Sequence[FoundDevice]:
        """Everything on the bus right now."""

    async def start(self, sink: DiscoverySink) -> None:
        self._sink = sink
        await self.rescan()
        self._task = asyncio.create_task(self._loop(), name=f"discovery-{self.bus}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def rescan(self) -> None:
        """Scan now and report the differences (also used by ``discover`` to refresh at once)."""
        try:
            found = {device.id: device for device in await self.scan()}
        except Exception:
            log.exception("discovery scan failed; keeping the last picture", extra={"bus": self.bus})
            return
        sink = self._sink
        if sink is None:
            return
        for device_id in self._known.keys() - found.keys():
            sink.disappeared(device_id)
        for device_id, device in found.items():
            if self._known.get(device_id) != device:
                sink.appeared(device)
        self._known = found

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.rescan()
