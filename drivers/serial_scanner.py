"""Barcode scanners on a serial port (RS-232, or USB in its serial / CDC-ACM mode).

A scanner only talks: each scan is the decoded data followed by a suffix (``CR`` in most
factory settings). The driver reads whatever arrives, lets the sans-I/O
:class:`protocols.scanner.ScanFramer` cut it into codes and awaits ``on_scan`` for each, in
order. A scanner is silent between scans, possibly for hours, so reads wait long and a read
timeout is just another turn of the loop; only a broken port ends it (``DeviceOffline``).

Like a display, a scanner answers no status query: ``health`` reports the port being open.

Recognising a scanner (``supports``)
------------------------------------
Nothing can be asked, so the ``/dev/serial/by-id`` name (from the USB descriptors of the
scanner in CDC-ACM mode, or of its RS-232 adapter) and the discovered name are matched,
case-insensitively, against ``Scanner``, ``Barcode``, ``Honeywell``, ``Symbol``, ``Zebra``,
``Datalogic`` and ``Newland``: the generic words and the makers whose USB-serial scanners put
their name there. A match scores 10. Zebra and Honeywell also make printers, but those show
up as USB printer-class devices or on the network, not as serial ports.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated

import msgspec

from drivers.base import DeviceHealth, ScanCallback, ScannerDriver
from drivers.discovery.base import FoundDevice
from drivers.errors import DeviceOffline, Timeout
from drivers.transports.base import Transport
from protocols.scanner import ScanFramer, ScanTooLong, Suffix

log = logging.getLogger(__name__)

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

# Hours of silence between scans are normal; a long read costs nothing and a closed port
# still ends it at once.
READ_TIMEOUT = 3600.0

SCANNER_NAME_FRAGMENTS = ("scanner", "barcode", "honeywell", "symbol", "zebra", "datalogic", "newland")


class SerialScannerOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a serial scanner in the config.

    ``suffix`` is the terminator the scanner is programmed to send: ``"auto"`` accepts ``CR``,
    ``LF`` or ``CR LF``; ``"cr"``, ``"lf"`` or ``"crlf"`` accept only that one (then a stray
    other control byte is dropped from the code). ``max_length`` bounds a code; longer lines
    are logged and skipped. ``strip_aim`` removes an AIM symbology identifier (``]E0``) the
    scanner is set to prefix. ``poll_interval`` is how often the device manager runs
    ``health``.
    """

    suffix: Suffix = "auto"
    max_length: Annotated[int, msgspec.Meta(ge=1, le=8192)] = 128
    strip_aim: bool = False
    connect_timeout: Seconds = 3.0
    poll_interval: Seconds = 5.0


class SerialScanner(ScannerDriver):
    """A barcode scanner that sends each scan as a line of text on a serial port."""

    name = "serial_scanner"
    Options = SerialScannerOptions
    options: SerialScannerOptions

    def __init__(self, device_id: str, transport: Transport, options: SerialScannerOptions) -> None:
        super().__init__(device_id, transport, options)
        self._framer = self._new_framer()

    def _new_framer(self) -> ScanFramer:
        return ScanFramer(
            suffix=self.options.suffix,
            max_length=self.options.max_length,
            strip_aim=self.options.strip_aim,
        )

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        if found.bus != "serial":
            return 0
        names = " ".join((found.id, found.url, found.name)).lower()
        return 10 if any(fragment in names for fragment in SCANNER_NAME_FRAGMENTS) else 0

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)
        # Half a line left from before a reconnect would be glued to the next scan.
        self._framer = self._new_framer()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        if not self.transport.is_open:
            raise DeviceOffline(f"{self.device_id}: scanner port is not open")
        return DeviceHealth(
            state="online", detail="port open; scanners send no status, so the scanner itself is not checked"
        )

    async def scans(self, on_scan: ScanCallback) -> None:
        """Deliver codes to ``on_scan`` until the port breaks, then raise ``DeviceOffline``.

        ``on_scan`` is awaited before the next code is taken, so codes arrive in scan order;
        an exception from it ends this loop and reaches the caller unchanged.
        """
        if not self.transport.is_open:
            raise DeviceOffline(f"{self.device_id}: scanner port is not open")
        while True:
            try:
                data = await self.transport.read(timeout=READ_TIMEOUT)
            except Timeout:
                continue
            self._framer.feed(data)
            while (code := self._next_code()) is not None:
                await on_scan(code)

    def _next_code(self) -> str | None:
        """The next complete code; a rejected over-long line is logged and skipped."""
        while True:
            try:
                return self._framer.next_scan()
            except ScanTooLong as exc:
                # One bad read (a label of the wrong kind, noise on the line) must not stop
                # the scanner; the head of the line helps find where it came from.
                log.warning(
                    "scan rejected: longer than %d characters",
                    self.options.max_length,
                    extra={"device": self.device_id, "head": exc.head.decode("latin-1")},
                )
