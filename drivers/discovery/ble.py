"""Bluetooth LE discovery: printers and scales by the services they advertise.

BLE has no "unplugged" event: a device is present while it advertises. So every advertisement
refreshes a last-seen time, and a sweep every few seconds reports as gone the devices not heard
for ``forget_after`` seconds. The sweep is a dictionary walk, cheap enough to run often.

Which advertisers are ours (reference sheet, "Bluetooth LE"):

| advertised service | device | URL reported |
|---|---|---|
| ``18f0`` | ESC/POS printer | ``ble://ADDR?service=18f0&write=2af1`` |
| ``ffe0`` | ESC/POS printer (some models) | ``ble://ADDR?service=ffe0&write=ffe1`` |
| ``181d`` | weight scale | ``ble://ADDR?service=181d&notify=2a9d`` |

Everything else in radio range (phones, headphones, beacons) is ignored: listing every
advertiser of a busy shopping street as an "unsupported device" would bury the real ones.

A hub without Bluetooth (no adapter, no BlueZ, no D-Bus, as in containers) logs that once at
info level and reports nothing; it never stops the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.discovery.base import DiscoveryBackend, DiscoverySink, FoundDevice
from drivers.transports.ble import short_uuid

log = logging.getLogger(__name__)

PRINTER_SERVICES = {"18f0": "2af1", "ffe0": "ffe1"}
"""ESC/POS printer service -> its write characteristic."""
SCALE_SERVICE = "181d"
SCALE_MEASUREMENT = "2a9d"

DetectionCallback = Callable[[Any, Any], None]
"""bleak's detection callback: ``(BLEDevice, AdvertisementData)``."""


class Scanner(Protocol):
    """The part of ``bleak.BleakScanner`` used here."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ScannerFactory = Callable[[DetectionCallback], Scanner]

# "Bluetooth is not there" is a fact about the box, not news: say it once per process.
_unavailable_logged = False


@dataclass(frozen=True, slots=True)
class Advertisement:
    """What one advertisement tells us: address, local name and service UUIDs (short form)."""

    address: str
    name: str
    services: tuple[str, ...]


def advertisement_of(device: Any, data: Any) -> Advertisement:
    """Read bleak's ``BLEDevice`` and ``AdvertisementData`` (or objects shaped like them)."""
    uuids: Iterable[str] = getattr(data, "service_uuids", None) or ()
    services = tuple(sorted({short_uuid(str(uuid)) for uuid in uuids}))
    name = getattr(data, "local_name", None) or getattr(device, "name", None) or ""
    return Advertisement(address=str(device.address).upper(), name=str(name), services=services)


def found_device(advert: Advertisement) -> FoundDevice | None:
    """The device to report for ``advert``, or ``None`` when it is not one of ours."""
    printer = next((s for s in PRINTER_SERVICES if s in advert.services), None)
    if printer is not None:
        url = f"ble://{advert.address}?service={printer}&write={PRINTER_SERVICES[printer]}"
        kind = "printer"
    elif SCALE_SERVICE in advert.services:
        url = f"ble://{advert.address}?service={SCALE_SERVICE}&notify={SCALE_MEASUREMENT}"
        kind = "scale"
    else:
        return None
    return FoundDevice(
        id=f"ble:{advert.address}",
        bus="ble",
        url=url,
        name=advert.name,
        services=advert.services,
        properties={"kind": kind},
    )


class BleDiscovery(DiscoveryBackend):
    """Watches BLE advertisements through bleak's scanner (or ``scanner_factory`` in tests).

    ``forget_after`` seconds without an advertisement make a device disappear; the check runs
    every ``check_interval`` seconds.
    """

    bus = "ble"

    def __init__(
        self,
        *,
        forget_after: float = 30.0,
        check_interval: float = 5.0,
        scanner_factory: ScannerFactory | None = None,
    ) -> None:
        self.forget_after = forget_after
        self.check_interval = check_interval
        self._scanner_factory = scanner_factory
        self._scanner: Scanner | None = None
        self._sink: DiscoverySink | None = None
        self._known: dict[str, FoundDevice] = {}
        self._last_seen: dict[str, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        """Whether scanning is running (False on a box without Bluetooth)."""
        return self._scanner is not None

    def _build_scanner(self) -> Scanner:
        if self._scanner_factory is not None:
            return self._scanner_factory(self._on_advertisement)
        import bleak

        # No service filter: BlueZ filters by advertised UUIDs only, and we want three of them
        # plus the names that come in scan responses without any UUID.
        return bleak.BleakScanner(detection_callback=self._on_advertisement, service_uuids=None)

    async def start(self, sink: DiscoverySink) -> None:
        global _unavailable_logged
        self._sink = sink
        try:
            scanner = self._build_scanner()
            await scanner.start()
        except Exception as exc:  # BleakError, OSError (no D-Bus socket), missing adapter...
            if not _unavailable_logged:
                log.info("Bluetooth LE discovery is off: %s", exc or type(exc).__name__)
                _unavailable_logged = True
            else:
                log.debug("Bluetooth LE discovery is off: %s", exc or type(exc).__name__)
            return
        self._scanner = scanner
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="discovery-ble-sweep")

    async def stop(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            try:
                await scanner.stop()
            except Exception:
                log.debug("stopping the BLE scanner failed", exc_info=True)
        self._sink = None
        self._known.clear()
        self._last_seen.clear()

    def _on_advertisement(self, device: Any, data: Any) -> None:
        # Called by bleak on the event loop for every advertisement: keep it cheap, and never
        # let one malformed advertisement raise into bleak's D-Bus dispatch.
        try:
            found = found_device(advertisement_of(device, data))
        except Exception:
            log.debug("ignoring an unreadable BLE advertisement", exc_info=True)
            return
        if found is None or self._sink is None:
            return
        self._last_seen[found.id] = asyncio.get_running_loop().time()
        known = self._known.get(found.id)
        if known is not None and not found.name and known.name:
            # Advertisements and scan responses alternate; one without the name is no change.
            found = FoundDevice(
                id=found.id,
                bus=found.bus,
                url=found.url,
                name=known.name,
                services=found.services,
                properties=found.properties,
            )
        if known != found:
            self._known[found.id] = found
            self._sink.appeared(found)

    def sweep(self) -> None:
        """Report devices not heard for ``forget_after`` seconds as gone."""
        now = asyncio.get_running_loop().time()
        for device_id, seen in list(self._last_seen.items()):
            if now - seen >= self.forget_after:
                del self._last_seen[device_id]
                self._known.pop(device_id, None)
                if self._sink is not None:
                    self._sink.disappeared(device_id)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            self.sweep()
