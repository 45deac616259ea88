"""Serial transport (RS-232 and USB-serial adapters) through pyserial-asyncio."""

from __future__ import annotations

import asyncio
from typing import Any

import serial_asyncio

from drivers.errors import DeviceOffline, UnsupportedTransport
from drivers.transports.base import TransportUrl
from drivers.transports.stream import StreamTransport

_PARITY = {"N": "N", "E": "E", "O": "O", "M": "M", "S": "S"}


def serial_settings(url: TransportUrl) -> dict[str, Any]:
    """pyserial keyword arguments from the URL query (``baudrate=9600&bytesize=7&parity=E``)."""
    known = {"baudrate", "bytesize", "parity", "stopbits", "rtscts", "xonxoff"}
    unknown = set(url.query) - known
    if unknown:
        raise UnsupportedTransport(f"{url}: unknown serial option(s) {', '.join(sorted(unknown))}")
    try:
        settings: dict[str, Any] = {
            "baudrate": int(url.query.get("baudrate", "9600")),
            "bytesize": int(url.query.get("bytesize", "8")),
            "parity": _PARITY[url.query.get("parity", "N").upper()],
            "stopbits": float(url.query.get("stopbits", "1")),
            "rtscts": url.query.get("rtscts", "0") in ("1", "true"),
            "xonxoff": url.query.get("xonxoff", "0") in ("1", "true"),
        }
    except (KeyError, ValueError) as exc:
        raise UnsupportedTransport(f"{url}: bad serial option: {exc}") from None
    if settings["bytesize"] not in (5, 6, 7, 8) or settings["stopbits"] not in (1, 1.5, 2):
        raise UnsupportedTransport(f"{url}: bytesize must be 5..8 and stopbits 1, 1.5 or 2")
    if settings["stopbits"] == 1 or settings["stopbits"] == 2:
        settings["stopbits"] = int(settings["stopbits"])
    return settings


class SerialTransport(StreamTransport):
    """A serial port opened with the line settings of its URL."""

    def __init__(self, url: TransportUrl) -> None:
        super().__init__()
        self.url = url
        self._settings = serial_settings(url)

    async def open(self, timeout: float) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                serial_asyncio.open_serial_connection(url=self.url.path, **self._settings),
                timeout=timeout,
            )
        except TimeoutError:
            raise DeviceOffline(f"{self.url}: port did not open within {timeout:.1f}s") from None
        except (OSError, ValueError) as exc:
            raise DeviceOffline(f"{self.url}: cannot open: {exc}") from None
        self._attach(reader, writer)
