"""The hub's view of every bus: what is plugged in or announced, and which driver would take it.

Backends report to this sink; each device found is offered to the drivers (the registry's
``claim``) and kept with the time it was first and last seen. Nothing is ignored: a device no
driver supports is listed as unsupported with its ids, so a technician can see it is there.
A device that reappears and is adopted wakes its worker, so a replugged printer reconnects at
once instead of after its reconnect backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import msgspec

from drivers.discovery.base import DiscoveryBackend, FoundDevice, PollingBackend
from drivers.discovery.mdns import MdnsDiscovery
from drivers.discovery.serial import SerialDiscovery
from hub.config import HubConfig
from hub.devices.registry import Claim, claim
from hub.domain.clock import now_iso
from hub.domain.events import EventLog

log = logging.getLogger(__name__)

BLUETOOTH_SYSFS = Path("/sys/class/bluetooth")


class FoundView(msgspec.Struct, frozen=True, kw_only=True):
    """A discovered device as ``GET /api/v1/discovery`` lists it."""

    id: str
    bus: str
    url: str
    name: str
    vendor_id: int | None
    product_id: int | None
    serial: str
    services: tuple[str, ...]
    properties: dict[str, str]
    supported: bool
    kind: str | None
    driver: str | None
    adopted_as: str | None
    first_seen: str
    last_seen: str


class _Entry(msgspec.Struct, kw_only=True):
    found: FoundDevice
    claim: Claim | None
    first_seen: str
    last_seen: str


def build_backends(config: HubConfig, owned_ports: Callable[[], set[str]]) -> list[DiscoveryBackend]:
    """The backends ``[discovery]`` enables. USB and BLE libraries load only when used."""
    section = config.discovery
    if not section.enabled:
        return []
    backends: list[DiscoveryBackend] = []
    if section.usb:
        from drivers.discovery.usb import UsbDiscovery

        backends.append(UsbDiscovery(interval=section.usb_interval_s))
    if section.serial:
        backends.append(
            SerialDiscovery(
                section.serial,
                probe=section.serial_probe,
                owned=owned_ports,
                interval=section.serial_interval_s,
            )
        )
    if section.mdns:
        backends.append(MdnsDiscovery(section.mdns_interfaces or config.mdns.interfaces))
    # No adapter, no scan: bleak and D-Bus are not even imported on a box without Bluetooth.
    if section.ble and BLUETOOTH_SYSFS.is_dir() and any(BLUETOOTH_SYSFS.iterdir()):
        from drivers.discovery.ble import BleDiscovery

        backends.append(BleDiscovery())
    return backends


class Discovery:
    """Runs the discovery backends and keeps what they found."""

    def __init__(
        self,
        backends: list[DiscoveryBackend],
        events: EventLog,
        *,
        adopted_as: Callable[[FoundDevice], str | None],
        on_seen: Callable[[str], None],
    ) -> None:
        self._backends = backends
        self._events = events
        self._adopted_as = adopted_as
        self._on_seen = on_seen
        self._found: dict[str, _Entry] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = False

    async def start(self) -> None:
        for backend in self._backends:
            try:
                await backend.start(self)
            except Exception:
                # One bus failing (no libusb, no multicast route) must not cost the others.
                log.exception("discovery backend failed to start", extra={"bus": backend.bus})
        self.started = True

    async def stop(self) -> None:
        for backend in self._backends:
            with contextlib.suppress(Exception):
                await backend.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def rescan(self) -> None:
        """Scan the polled buses now (mDNS and BLE report by themselves)."""
        await asyncio.gather(
            *(backend.rescan() for backend in self._backends if isinstance(backend, PollingBackend))
        )

    @property
    def buses(self) -> list[str]:
        return [backend.bus for backend in self._backends]

    # -- DiscoverySink --------------------------------------------------------------------
    def appeared(self, found: FoundDevice) -> None:
        at = now_iso()
        entry = self._found.get(found.id)
        if entry is None:
            entry = _Entry(found=found, claim=claim(found), first_seen=at, last_seen=at)
            self._found[found.id] = entry
            log.info(
                "device found",
                extra={
                    "found": found.id,
                    "bus": found.bus,
                    "driver": entry.claim.driver if entry.claim else None,
                },
            )
            self._emit("device.found", self._view(entry))
        else:
            entry.found, entry.claim, entry.last_seen = found, claim(found), at
        device_id = self._adopted_as(found)
        if device_id is not None:
            self._on_seen(device_id)

    def disappeared(self, device_id: str) -> None:
        entry = self._found.pop(device_id, None)
        if entry is not None:
            log.info("device gone", extra={"found": device_id, "bus": entry.found.bus})
            self._emit("device.lost", {"id": device_id, "bus": entry.found.bus})

    # -- views ----------------------------------------------------------------------------
    def get(self, found_id: str) -> FoundView | None:
        entry = self._found.get(found_id)
        return None if entry is None else self._view(entry)

    def views(self) -> list[FoundView]:
        return [
            self._view(entry)
            for entry in sorted(self._found.values(), key=lambda e: (e.found.bus, e.found.id))
        ]

    def _view(self, entry: _Entry) -> FoundView:
        found, claimed = entry.found, entry.claim
        return FoundView(
            id=found.id,
            bus=found.bus,
            url=found.url,
            name=found.name,
            vendor_id=found.vendor_id,
            product_id=found.product_id,
            serial=found.serial,
            services=found.services,
            properties=found.properties,
            supported=claimed is not None,
            kind=claimed.kind if claimed else None,
            driver=claimed.driver if claimed else None,
            adopted_as=self._adopted_as(found),
            first_seen=entry.first_seen,
            last_seen=entry.last_seen,
        )

    def _emit(self, type_: str, data: object) -> None:
        task = asyncio.get_running_loop().create_task(self._record(type_, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, type_: str, data: object) -> None:
        try:
            await self._events.record(type_, data)
        except Exception:
            log.exception("could not record a discovery event", extra={"type": type_})
