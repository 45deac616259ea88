"""USB discovery: printers (class 7) and devices of known POS vendors, polled with pyusb.

libusb has hotplug callbacks, but not on every platform and not through pyusb; listing the bus
is a walk over descriptors the kernel already holds, so polling every two seconds is cheap.
Only the string descriptors (serial, manufacturer, product) cost USB traffic, so they are read
once per attachment and cached by bus and address, which change whenever a device is replugged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import usb.core
import usb.util

from drivers.discovery.base import FoundDevice, PollingBackend
from drivers.transports.usb import NO_BACKEND, PRINTER_CLASS, format_port_path

log = logging.getLogger(__name__)

# Epson, Star, Bixolon, Citizen, and the two ids generic (Xprinter-style) printers use.
POS_VENDORS = frozenset({0x04B8, 0x0519, 0x1504, 0x1D90, 0x0416, 0x0483})


@dataclass(frozen=True, slots=True)
class _Strings:
    serial: str
    manufacturer: str
    product: str


@dataclass(frozen=True, slots=True)
class _Seen:
    """One interesting device of a scan, before ids are assigned."""

    vendor_id: int
    product_id: int
    bus: int
    ports: tuple[int, ...]
    address: int
    classes: tuple[int, ...]
    strings: _Strings


def usb_classes(device: Any) -> tuple[int, ...]:
    """The device class followed by the distinct interface classes of all configurations."""
    classes = [int(device.bDeviceClass)]
    try:
        for config in device:
            for interface in config:
                if interface.bInterfaceClass not in classes:
                    classes.append(int(interface.bInterfaceClass))
    except usb.core.USBError as exc:
        # Descriptors come from the kernel's cache, so this is rare; judge by the rest.
        log.debug("cannot read USB configuration", extra={"error": str(exc)})
    return tuple(classes)


def _string(device: Any, index: int) -> str | None:
    """A string descriptor ("" when the device has none), or None when it cannot be read."""
    if not index:
        return ""
    try:
        # Some firmware pads strings with NULs.
        return str(usb.util.get_string(device, index) or "").replace("\x00", "").strip()
    except (usb.core.USBError, ValueError, NotImplementedError):
        # No permission to open the device (no udev rule yet) or no string support.
        return None


def read_strings(device: Any) -> tuple[_Strings, bool]:
    """Serial number, manufacturer and product ("" for what cannot be read), and whether all
    of them could be read."""
    try:
        texts = [
            _string(device, index) for index in (device.iSerialNumber, device.iManufacturer, device.iProduct)
        ]
        serial, manufacturer, product = (text or "" for text in texts)
        return _Strings(serial, manufacturer, product), None not in texts
    finally:
        # Reading strings opened a handle; the device's owner (a transport) must not find it
        # held by discovery.
        usb.util.dispose_resources(device)


class UsbDiscovery(PollingBackend):
    """Reports USB printers and POS-vendor devices with ids stable across replugs."""

    bus = "usb"

    def __init__(self, interval: float = 2.0, backend: Any = None) -> None:
        super().__init__(interval)
        self._backend = backend
        self._strings: dict[tuple[int, int, int, int], _Strings] = {}
        # A scan runs in a thread; ``rescan`` from ``discover`` can overlap the polling loop's.
        self._lock = threading.Lock()
        self._no_backend = False

    async def scan(self) -> Sequence[FoundDevice]:
        return await asyncio.to_thread(self._scan_sync)

    def _scan_sync(self) -> list[FoundDevice]:
        with self._lock:
            if self._no_backend:
                return []
            try:
                devices = list(usb.core.find(find_all=True, backend=self._backend))
            except usb.core.NoBackendError:
                # Looking for libusb again every scan would run ldconfig every few seconds; a
                # box that gets libusb installed later picks it up when the hub restarts.
                self._no_backend = True
                log.info("USB discovery is off: %s", NO_BACKEND)
                return []
            seen = [item for item in (self._inspect(device) for device in devices) if item is not None]
            live = {(s.bus, s.address, s.vendor_id, s.product_id) for s in seen}
            self._strings = {key: value for key, value in self._strings.items() if key in live}
        return _found(seen)

    def _inspect(self, device: Any) -> _Seen | None:
        vendor_id, product_id = int(device.idVendor), int(device.idProduct)
        classes = usb_classes(device)
        if PRINTER_CLASS not in classes and vendor_id not in POS_VENDORS:
            return None
        bus, address = int(device.bus or 0), int(device.address or 0)
        key = (bus, address, vendor_id, product_id)
        strings = self._strings.get(key)
        if strings is None:
            strings, complete = read_strings(device)
            if complete:  # else ask again next scan: a udev rule may grant access meanwhile
                self._strings[key] = strings
        return _Seen(
            vendor_id=vendor_id,
            product_id=product_id,
            bus=bus,
            ports=tuple(int(port) for port in (device.port_numbers or ())),
            address=address,
            classes=classes,
            strings=strings,
        )


def _found(seen: list[_Seen]) -> list[FoundDevice]:
    """FoundDevice records with ids: the serial number, else the port path.

    Some cheap printers all carry the same serial number; those would collide under one id, so
    a serial seen twice in one scan is not trusted and both devices go by their port paths.
    """
    serials = Counter(item.strings.serial for item in seen if item.strings.serial)
    found = []
    for item in seen:
        ids = f"{item.vendor_id:04x}:{item.product_id:04x}"
        port = format_port_path(item.bus, item.ports) if item.ports else ""
        serial = item.strings.serial
        if serial and serials[serial] > 1:
            log.warning(
                "USB devices share a serial number; identifying them by port",
                extra={"serial": serial, "usb_id": ids},
            )
            serial = ""
        if serial:
            device_id, url = f"usb:{serial}", f"usb://{ids}?serial={quote(serial, safe='')}"
        elif port:
            device_id, url = f"usb:{port}", f"usb://{ids}?port={port}"
        else:
            # A backend that cannot tell port paths: only the first device of the model is
            # reachable, under an id that is at least stable while it stays plugged in.
            device_id, url = f"usb:{ids}@{item.bus}.{item.address}", f"usb://{ids}"
        name = " ".join(part for part in (item.strings.manufacturer, item.strings.product) if part)
        found.append(
            FoundDevice(
                id=device_id,
                bus="usb",
                url=url,
                name=name or f"USB {ids}",
                vendor_id=item.vendor_id,
                product_id=item.product_id,
                serial=item.strings.serial,
                usb_classes=item.classes,
                properties={"port": port} if port else {},
            )
        )
    return found
