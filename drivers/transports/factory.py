"""Transport selection by URL scheme.

USB and BLE are imported only when a device uses them: pyusb and bleak cost start-up time and
memory a hub with network printers alone should not pay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.errors import UnsupportedTransport
from drivers.transports.base import Transport, TransportUrl
from drivers.transports.serial import SerialTransport
from drivers.transports.tcp import TcpTransport


@dataclass(frozen=True)
class TransportOptions:
    """What the hub hands every transport it creates.

    ``usb_backend`` is a pyusb backend (None: libusb as found by pyusb; tests give a backend
    that behaves like a printer). ``ble_client_factory`` builds a bleak-style client for an
    address (None: ``bleak.BleakClient``; tests give a fake, as BlueZ is not always there).
    """

    usb_backend: Any = None
    ble_client_factory: Callable[[str], Any] | None = None


DEFAULT_OPTIONS = TransportOptions()


def create_transport(url: TransportUrl, options: TransportOptions = DEFAULT_OPTIONS) -> Transport:
    """A transport for ``url``; raises ``UnsupportedTransport`` for a scheme it cannot open."""
    if url.scheme == "tcp":
        return TcpTransport(url)
    if url.scheme == "serial":
        return SerialTransport(url)
    if url.scheme == "usb":
        from drivers.transports.usb import UsbTransport

        return UsbTransport(url, backend=options.usb_backend)
    if url.scheme == "ble":
        from drivers.transports.ble import BleTransport

        return BleTransport(url, client_factory=options.ble_client_factory)
    raise UnsupportedTransport(f"{url}: the {url.scheme} transport is not available in this build")
