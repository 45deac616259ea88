"""Star raster printers (TSP100 series): ESC/POS jobs drawn as images and sent in raster mode.

A TSP100 ignores ESC/POS text, so a job (ESC/POS bytes, like every print job of the hub) is
read back into styled lines by :func:`protocols.escpos.extract.extract`, drawn with Pillow on a
canvas as wide as the paper, and encoded by :mod:`protocols.star_raster`. Text is laid out in
12 x 24 dot cells, Epson font A's size, so the column layout the ESC/POS renderer computed
(48 characters on 576 dots) comes out the same; wider glyphs of the proportional default font
are squeezed into their cell. QR codes are drawn with ``qrcode`` (a python-escpos dependency),
raster logos are copied, and 1D barcodes print as their human-readable text.

Status: the printer is "online" while its transport is open. A TSP100 reports paper and cover
through Star's automatic status back (ASB), which is out of scope here, so a job is counted as
printed once its bytes are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Annotated

import msgspec

from drivers.base import DeviceHealth, HealthCallback, PrinterDriver
from drivers.discovery.base import FoundDevice
from drivers.errors import DeviceOffline

log = logging.getLogger(__name__)

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


STAR_VENDOR_ID = 0x0519
# USB product ids of TSP100-family printers: 0x0003 is listed for the "Star TSP 100" by
# openbravo's WebUSB printer table (startsp100.js) and for the TSP143III by public WebUSB code.
TSP100_PRODUCT_IDS = frozenset({0x0003})
# "TSP100", "TSP143IIIU", "Star TSP143IIILAN (STR_T-001)": a TSP1xx model, not a TSP1000.
_TSP100_NAME = re.compile(r"TSP\s?1\d\d(?!\d)", re.IGNORECASE)


class StarRasterOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a Star raster printer in the config.

    ``width_dots`` is the printable width (576 on 80 mm paper, 512 on 72 mm); ``font_path`` a
    TrueType font to draw text with (empty: DejaVu Sans Mono when installed, else Pillow's
    default font).
    """

    width_dots: Annotated[int, msgspec.Meta(ge=128, le=832, multiple_of=8)] = 576
    connect_timeout: Seconds = 3.0
    write_timeout: Seconds = 30.0
    poll_interval: Seconds = 1.0
    drawer: bool = True
    language: str = ""
    font_path: str = ""


class StarRasterPrinter(PrinterDriver):
    """A Star TSP100-series printer over any byte transport (USB, TCP 9100, BLE)."""

    name = "star_raster"
    Options = StarRasterOptions
    options: StarRasterOptions

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        """20 for a TSP100-family printer (USB ids, or a name/TXT record naming a TSP1xx), else 0.

        It outranks :class:`~drivers.escpos_printer.EscposPrinter`'s 10 for any Star device.
        """
        if found.vendor_id == STAR_VENDOR_ID and found.product_id in TSP100_PRODUCT_IDS:
            return 20
        names = (found.name, found.properties.get("product", ""), found.properties.get("ty", ""))
        if found.bus in ("usb", "mdns") and any(_TSP100_NAME.search(name) for name in names):
            return 20
        return 0

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        """Online while the link is open: reading TSP100 status (Star ASB) is out of scope."""
        if not self.transport.is_open:
            raise DeviceOffline(f"{self.device_id}: not connected")
        return DeviceHealth(state="online")

    async def ensure_ready(self) -> DeviceHealth:
        return await self.health()

    async def print(self, data: bytes, *, on_health: HealthCallback | None = None) -> None:
        await self.health()  # nothing is rendered for a printer that is not there
        options = self.options
        from drivers.star_raster_render import render_raster

        # Drawing a long report takes tens of milliseconds: not on the event loop.
        raster = await asyncio.to_thread(
            render_raster, data, options.width_dots, drawer=options.drawer, font_path=options.font_path
        )
        await self.transport.write(raster, options.write_timeout)
