"""The Star raster driver: receipts rendered by ``protocols.escpos`` reach the printer as raster.

The printer side is a recording transport: the bytes it receives are parsed with the raster
decoder of ``protocols.star_raster`` and checked as paper would show them (rows, width, where
the ink is, cuts and the drawer command).
"""

from __future__ import annotations

import pytest
from PIL import ImageFont

from drivers import star_raster_render
from drivers.base import DeviceHealth
from drivers.discovery.base import FoundDevice
from drivers.errors import DeviceOffline, Timeout
from drivers.escpos_printer import EscposPrinter
from drivers.star_raster_printer import StarRasterOptions, StarRasterPrinter
from drivers.star_raster_render import CELL_HEIGHT, CELL_WIDTH, ReceiptPainter
from drivers.transports.base import Transport, TransportUrl
from protocols.escpos import Columns, Cut, DrawerKick, ReceiptDocument, Separator, Text, render
from protocols.escpos.extract import TextLine, TextRun
from protocols.star_raster import Bitmap, RasterCommand, decode, page_bitmaps


class RecordingTransport(Transport):
    """A printer that takes everything and never answers."""

    def __init__(self) -> None:
        self.url = TransportUrl("tcp", host="127.0.0.1", port=9100)
        self.received = bytearray()
        self.writes = 0
        self._open = False

    async def open(self, timeout: float) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    async def write(self, data: bytes, timeout: float) -> None:
        if not self._open:
            raise DeviceOffline("not connected")
        self.received += data
        self.writes += 1

    async def read(self, timeout: float) -> bytes:
        raise Timeout("a raster printer sends nothing here")


def receipt(*extra: object, width: int = 48) -> bytes:
    blocks = [
        Text(text="Ćevabdžinica Željo", align="center", bold=True, double_width=True, double_height=True),
        Columns(left="Ćevapi 10 kom", right="12.00"),
        Columns(left="Kajmak", right="3.00"),
        Separator(),
        Columns(left="UKUPNO", right="15.00", bold=True),
        *extra,
    ]
    return render(ReceiptDocument(blocks=blocks, language="bs", width=width))  # type: ignore[arg-type]


async def print_job(data: bytes, **options: object) -> tuple[list[RasterCommand], RecordingTransport]:
    transport = RecordingTransport()
    driver = StarRasterPrinter("star", transport, StarRasterOptions(**options))  # type: ignore[arg-type]
    await driver.connect()
    try:
        assert await driver.ensure_ready() == DeviceHealth(state="online")
        await driver.print(data)
    finally:
        await driver.close()
    return decode(bytes(transport.received)), transport


def ink_columns(bitmap: Bitmap, first: int, last: int) -> tuple[int, int]:
    """Leftmost and rightmost inked dot in rows ``first`` to ``last``."""
    dots = [
        column
        for row in bitmap.rows[first:last]
        for column in range(bitmap.width)
        if row[column // 8] & (0x80 >> column % 8)
    ]
    return min(dots), max(dots)


async def test_receipt_becomes_raster_rows_of_the_paper_width() -> None:
    commands, transport = await print_job(receipt())
    assert transport.writes == 1
    assert commands[0].kind == "enter" and commands[-1].kind == "quit"
    assert commands[-2].kind == "eot", "the page ends with ESC FF EOT"
    assert [c.value for c in commands if c.kind == "setting" and c.letter == "E"] == [9]  # full cut
    assert all(c.value <= 72 for c in commands if c.kind == "row"), "no row wider than 576 dots"
    (page,) = page_bitmaps(commands, 576)
    assert page.width == 576 and page.row_bytes == 72
    # Five text lines, the first twice as tall: about 6 x 30 dots; no trailing feed before the cut.
    assert 5 * 30 <= page.height <= 6 * 30
    # The centered double-size title: 18 characters of 24 dots centered on 576 dots.
    left, right = ink_columns(page, 0, 2 * CELL_HEIGHT)
    assert abs((576 - 1 - right) - left) <= 2 * CELL_WIDTH
    assert left >= (576 - 18 * 2 * CELL_WIDTH) // 2 - 2
    # "UKUPNO ... 15.00" spans the line: the amount ends at the right edge.
    left, right = ink_columns(page, page.height - CELL_HEIGHT, page.height)
    assert left < CELL_WIDTH and right > 576 - CELL_WIDTH


async def test_narrow_paper_and_drawer() -> None:
    commands, _ = await print_job(receipt(DrawerKick(), width=32), width_dots=384)
    assert commands[1] == RasterCommand("setting", commands[1].offset, letter="D", value=1)
    (page,) = page_bitmaps(commands, 384)
    assert page.row_bytes == 48
    no_drawer, _ = await print_job(receipt(DrawerKick()), drawer=False)
    assert not any(c.letter == "D" for c in no_drawer)


async def test_two_receipts_in_one_job_are_two_cut_pages() -> None:
    data = receipt(Cut(partial=True)) + receipt()
    commands, _ = await print_job(data)
    assert [c.value for c in commands if c.kind == "setting" and c.letter == "E"] == [13, 9]
    assert len(page_bitmaps(commands, 576)) == 2


async def test_drawer_only_job_prints_nothing() -> None:
    drawer_job = render(ReceiptDocument(blocks=[DrawerKick(pin=5)], cut=False))
    commands, _ = await print_job(drawer_job)
    assert [(c.kind, c.letter, c.value) for c in commands] == [
        ("enter", "", 0),
        ("setting", "D", 2),
        ("quit", "", 0),
    ]


async def test_an_endless_job_is_split_into_bounded_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(star_raster_render, "MAX_PAGE_DOTS", 100)
    commands, _ = await print_job(b"".join(b"line %d\n" % n for n in range(10)))
    pages = page_bitmaps(commands, 576)
    assert [page.height <= 100 + 30 for page in pages] == [True] * len(pages) and len(pages) >= 3
    assert {c.value for c in commands if c.kind == "setting" and c.letter == "E"} == {2}  # no cuts


async def test_offline_printer_gets_nothing() -> None:
    transport = RecordingTransport()
    driver = StarRasterPrinter("star", transport, StarRasterOptions())
    with pytest.raises(DeviceOffline):
        await driver.health()
    with pytest.raises(DeviceOffline):
        await driver.print(receipt())
    assert transport.received == b""


def test_glyphs_the_font_lacks_fold_to_their_base_letter() -> None:
    painter = ReceiptPainter(576)
    painter.font = ImageFont.load_default(size=18)  # Pillow's own font: ASCII only
    painter._missing = bytes(painter.font.getmask("\uffff"))
    assert painter.drawable("č") == "c" and painter.drawable("Ž") == "Z" and painter.drawable("đ") == "?"
    assert painter.drawable("A") == "A"
    (strip,) = painter.text_line(TextLine((TextRun("čć"),)))
    assert strip.getbbox() is not None


def found(**fields: object) -> FoundDevice:
    return FoundDevice(**{"id": "x", "bus": "usb", "url": "usb://0519:0003", **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("device", "star", "escpos"),
    [
        (found(vendor_id=0x0519, product_id=0x0003), 20, 10),
        (found(vendor_id=0x0519, product_id=0x0042, name="Star TSP143IIIU"), 20, 10),
        (found(vendor_id=0x0519, product_id=0x0042, name="TSP654II"), 0, 10),
        (found(vendor_id=0x04B8, product_id=0x0E15, usb_classes=(7,)), 0, 10),
        (found(vendor_id=0x1234, product_id=0x0001, usb_classes=(7,)), 0, 10),
        (found(vendor_id=0x1234, product_id=0x0001, usb_classes=(3,)), 0, 0),
        (
            found(
                bus="mdns", services=("_pdl-datastream._tcp",), properties={"product": "(Star TSP143IIILAN)"}
            ),
            20,
            10,
        ),
        (
            found(bus="mdns", services=("_pdl-datastream._tcp.local.",), properties={"ty": "TSP100LAN"}),
            20,
            10,
        ),
        (found(bus="mdns", services=("_pdl-datastream._tcp",), properties={"ty": "Star TSP1000"}), 0, 10),
        (found(bus="mdns", services=("_ipp._tcp", "_printer._tcp")), 0, 0),
        (found(bus="ble", services=("18f0",)), 0, 10),
        (found(bus="ble", services=("ffe0",)), 0, 10),
        (found(bus="ble", services=("181d",)), 0, 0),
        (found(bus="serial", properties={"probe": "escpos"}), 0, 10),
        (found(bus="serial"), 0, 0),
    ],
)
def test_supports_scores(device: FoundDevice, star: int, escpos: int) -> None:
    assert StarRasterPrinter.supports(device) == star
    assert EscposPrinter.supports(device) == escpos
