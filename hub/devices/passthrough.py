"""A customer display plugged into a printer's display port, reached through the printer.

Epson-style printers forward what sits between ``ESC = 02`` and ``ESC = 01`` to the display on
their second port. The display's driver stays the same; only its transport differs: this one
hands the wrapped bytes to the printer's worker, which sends them between print jobs (one
owner per device: the display never opens the printer's link itself). The display is offline
whenever its printer is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.errors import DeviceOffline, Timeout
from drivers.transports.base import Transport, TransportUrl
from hub.devices.printer_worker import PrinterWorker
from protocols.display import through_printer


class PrinterPassthrough(Transport):
    """Writes go to the printer worker's passthrough queue; there is nothing to read."""

    def __init__(self, url: TransportUrl, printer: Callable[[], PrinterWorker | None]) -> None:
        self.url = url
        self._printer = printer
        self._open = False

    def _worker(self) -> PrinterWorker:
        worker = self._printer()
        if worker is None:
            raise DeviceOffline(f"{self.url}: no printer {self.url.host!r} on this hub")
        if not worker.connected:
            raise DeviceOffline(f"{self.url}: printer {self.url.host!r} is offline")
        return worker

    async def open(self, timeout: float) -> None:
        self._worker()
        self._open = True

    async def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        worker = self._printer()
        return self._open and worker is not None and worker.connected

    async def write(self, data: bytes, timeout: float) -> None:
        if not self._open:
            raise DeviceOffline(f"{self.url}: not connected")
        self._worker().passthrough(through_printer(data))

    async def read(self, timeout: float) -> bytes:
        # A display answers nothing, through a printer least of all.
        await asyncio.sleep(timeout)
        raise Timeout(f"{self.url}: a display behind a printer sends nothing")
