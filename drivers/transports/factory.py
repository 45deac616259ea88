"""Transport selection by URL scheme."""

from __future__ import annotations

from drivers.errors import UnsupportedTransport
from drivers.transports.base import Transport, TransportUrl
from drivers.transports.serial import SerialTransport
from drivers.transports.tcp import TcpTransport


def create_transport(url: TransportUrl) -> Transport:
    """A transport for ``url``. USB and BLE arrive with the device-fleet work."""
    if url.scheme == "tcp":
        return TcpTransport(url)
    if url.scheme == "serial":
        return SerialTransport(url)
    raise UnsupportedTransport(f"{url}: the {url.scheme} transport is not available in this build")
