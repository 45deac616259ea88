"""The USB transport and USB discovery through real pyusb, on a backend whose printers are
``smartpos-sim printer`` processes (tests/support/fake_usb.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import usb.backend.libusb0
import usb.backend.libusb1
import usb.backend.openusb

from drivers.base import DeviceHealth
from drivers.discovery.base import FoundDevice
from drivers.discovery.usb import UsbDiscovery
from drivers.errors import DeviceOffline, PaperOut, Timeout, UnsupportedTransport
from drivers.escpos_printer import EscposOptions, EscposPrinter
from drivers.transports import create_transport, parse_transport_url
from drivers.transports.factory import TransportOptions
from drivers.transports.usb import UsbTransport
from protocols.escpos import ReceiptDocument, Text, render
from tests.support.fake_usb import KEYBOARD_INTERFACE, VENDOR_INTERFACE, FakeUsbBackend, FakeUsbDevice
from tests.support.procs import PrinterSim

EPSON_URL = "usb://04b8:0e15?serial=TM88-0001"
STATUS_PRINTER = b"\x10\x04\x01"


class Sink:
    """A DiscoverySink that records what it is told."""

    def __init__(self) -> None:
        self.found: list[FoundDevice] = []
        self.gone: list[str] = []

    def appeared(self, found: FoundDevice) -> None:
        self.found.append(found)

    def disappeared(self, device_id: str) -> None:
        self.gone.append(device_id)


def epson(sim: PrinterSim | None = None) -> FakeUsbDevice:
    return FakeUsbDevice(
        0x04B8,
        0x0E15,
        serial="TM88-0001",
        manufacturer="EPSON",
        product="TM-T88V",
        ports=(1, 4),
        printer_port=None if sim is None else sim.port,
    )


def xprinter(sim: PrinterSim | None = None) -> FakeUsbDevice:
    """A generic POS printer: vendor-specific interface, no strings, no serial number."""
    return FakeUsbDevice(
        0x0416,
        0x5011,
        bus=1,
        ports=(1, 2, 3),
        interfaces=(VENDOR_INTERFACE,),
        printer_port=None if sim is None else sim.port,
    )


def keyboard() -> FakeUsbDevice:
    return FakeUsbDevice(0x046D, 0xC31C, serial="KB1", ports=(2,), interfaces=(KEYBOARD_INTERFACE,))


@pytest.fixture
def bus(sim: PrinterSim) -> Iterator[tuple[FakeUsbBackend, FakeUsbDevice]]:
    device = epson(sim)
    fake = FakeUsbBackend([device, keyboard()])
    yield fake, device
    fake.close()


def make_driver(url: str, fake: FakeUsbBackend, **options: object) -> EscposPrinter:
    opts = EscposOptions(**{"reply_timeout": 0.5, "poll_interval": 0.2, **options})  # type: ignore[arg-type]
    transport = create_transport(parse_transport_url(url), TransportOptions(usb_backend=fake))
    return EscposPrinter("p1", transport, opts)


def receipt_bytes(title: str, lines: int = 5) -> bytes:
    blocks = [Text(text=title)] + [Text(text=f"line {i}") for i in range(lines)]
    return render(ReceiptDocument(blocks=blocks, language="bs"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["usb://04b8", "usb://zz:0e15", "usb://04b8:0e15/x", "usb://04b8:0e15?port=1", "usb://04b8:0e15?speed=1"],
)
def test_bad_usb_urls(url: str) -> None:
    with pytest.raises(UnsupportedTransport):
        UsbTransport(parse_transport_url(url))


async def test_discovery_ids_and_replug() -> None:
    printer, generic, denied = (
        epson(),
        xprinter(),
        FakeUsbDevice(0x1504, 0x0006, ports=(3,), serial="B1", permission_denied=True),
    )
    office = FakeUsbDevice(0x03F0, 0x1234, ports=(4,), serial="HP1")  # class 7, not a POS vendor
    fake = FakeUsbBackend([printer, generic, keyboard(), denied, office])
    discovery, sink = UsbDiscovery(interval=60, backend=fake), Sink()
    await discovery.start(sink)
    try:
        by_id = {found.id: found for found in sink.found}
        assert set(by_id) == {"usb:TM88-0001", "usb:1-1.2.3", "usb:1-3", "usb:HP1"}, "no keyboard"
        tm = by_id["usb:TM88-0001"]
        assert (tm.url, tm.name, tm.serial, tm.vendor_id, tm.product_id) == (
            EPSON_URL,
            "EPSON TM-T88V",
            "TM88-0001",
            0x04B8,
            0x0E15,
        )
        assert tm.usb_classes == (0, 7) and tm.bus == "usb"
        assert by_id["usb:1-1.2.3"].url == "usb://0416:5011?port=1-1.2.3"
        assert by_id["usb:1-1.2.3"].usb_classes == (0, 0xFF), "reported for its POS vendor id"
        # Without permission to open it the strings are unreadable: generic name, port id.
        assert by_id["usb:1-3"].name == "USB 1504:0006" and by_id["usb:1-3"].serial == ""

        sink.found.clear()
        fake.unplug(printer)
        await discovery.rescan()
        assert sink.gone == ["usb:TM88-0001"] and sink.found == []
        fake.plug(printer)  # back at a new USB address: the id must not change
        await discovery.rescan()
        assert [found.id for found in sink.found] == ["usb:TM88-0001"]
        assert sink.found[0].url == EPSON_URL
        await discovery.rescan()
        assert len(sink.found) == 1, "an unchanged bus reports nothing"
    finally:
        await discovery.stop()
        fake.close()


async def test_no_libusb_means_offline_and_quiet_discovery(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A box without libusb: every pyusb backend module finds no library.
    for module in (usb.backend.libusb1, usb.backend.openusb, usb.backend.libusb0):
        monkeypatch.setattr(module, "get_backend", lambda *args, **kwargs: None)
    transport = UsbTransport(parse_transport_url(EPSON_URL))
    with pytest.raises(DeviceOffline, match="libusb"):
        await transport.open(2.0)
    assert not transport.is_open
    discovery = UsbDiscovery()
    with caplog.at_level("INFO", logger="drivers.discovery.usb"):
        assert await discovery.scan() == []
        assert await discovery.scan() == []
    assert sum("libusb" in record.getMessage() for record in caplog.records) == 1


async def test_escpos_prints_over_usb(bus: tuple[FakeUsbBackend, FakeUsbDevice], sim: PrinterSim) -> None:
    fake, device = bus
    driver = make_driver(EPSON_URL, fake)
    await driver.connect()
    try:
        assert fake.state(device) == {"handles": 1, "claimed": [0], "kernel_driver": []}
        assert await driver.health() == DeviceHealth(state="online")
        await driver.print(receipt_bytes("Šifra USB 1"))
        # Confirmed by the printer's process-id answer on bulk IN: already on paper.
        assert "Šifra USB 1" in sim.paper() and "--- CUT ---" in sim.paper()
    finally:
        await driver.close()
    assert fake.state(device)["handles"] == 0 and fake.state(device)["claimed"] == []
    await driver.transport.close()  # safe twice


async def test_device_without_serial_opens_by_port_path(tmp_path: Path) -> None:
    sim = PrinterSim(tmp_path).start()
    fake = FakeUsbBackend([xprinter(sim)])
    driver = make_driver("usb://0416:5011?port=1-1.2.3", fake)
    try:
        await driver.connect()
        await driver.print(receipt_bytes("Generic USB"))
        assert "Generic USB" in sim.paper()
        await driver.close()
        with pytest.raises(DeviceOffline, match="no USB device"):
            await make_driver("usb://0416:5011?port=1-9", fake).connect()
    finally:
        await driver.close()
        fake.close()
        sim.stop()


async def test_paper_out_status_round_trip(
    bus: tuple[FakeUsbBackend, FakeUsbDevice], sim: PrinterSim
) -> None:
    fake, _ = bus
    driver = make_driver(EPSON_URL, fake)
    await driver.connect()
    try:
        sim.control("paper_out on")
        with pytest.raises(PaperOut) as excinfo:
            await driver.ensure_ready()
        assert not excinfo.value.sent
        health = await driver.health()
        assert health.state == "error" and "paper_out" in health.conditions
        sim.control("paper_out off")
        assert await driver.ensure_ready() == DeviceHealth(state="online")
    finally:
        await driver.close()


async def test_long_read_does_not_hold_up_writes(bus: tuple[FakeUsbBackend, FakeUsbDevice]) -> None:
    fake, _ = bus
    transport = UsbTransport(parse_transport_url(EPSON_URL), backend=fake)
    await transport.open(2.0)
    try:
        start = time.monotonic()
        with pytest.raises(Timeout):
            await transport.read(0.3)
        assert 0.25 < time.monotonic() - start < 1.5
        # The ESC/POS reader waits an hour for bytes; a status request still goes out at once.
        reading = asyncio.create_task(transport.read(3600))
        await asyncio.sleep(0.05)
        start = time.monotonic()
        await transport.write(STATUS_PRINTER, 1.0)
        assert await asyncio.wait_for(reading, 2.0) == b"\x16"
        assert time.monotonic() - start < 1.0, "the hour-long read held the write up"
    finally:
        await transport.close()
    await transport.open(2.0)  # reopens after a close
    await transport.close()


async def test_writes_never_block_the_event_loop(
    bus: tuple[FakeUsbBackend, FakeUsbDevice], sim: PrinterSim
) -> None:
    fake, _ = bus
    transport = UsbTransport(parse_transport_url(EPSON_URL), backend=fake)
    await transport.open(2.0)
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    reader = asyncio.create_task(transport.read(3600))
    try:
        # Out of paper: the printer fills its buffer and stops taking bulk OUT data.
        sim.control("paper_out on")
        with pytest.raises(Timeout) as excinfo:
            await transport.write(b"line of a long job\n" * 200_000, 1.5)
        assert excinfo.value.sent
        # A pyusb call on the loop would stall it for a whole slice (IO_SLICE, 0.2 s) or longer.
        assert len(gaps) > 100 and max(gaps) < 0.15, f"event loop stalled for {max(gaps):.3f}s"
    finally:
        ticker.cancel()
        reader.cancel()
        await asyncio.gather(ticker, reader, return_exceptions=True)
        await transport.close()


async def test_unplug_mid_write_is_offline_and_sent(tmp_path: Path) -> None:
    sim = PrinterSim(tmp_path, speed=20).start()  # slow paper: a long job takes a while
    device = epson(sim)
    fake = FakeUsbBackend([device])
    transport = UsbTransport(parse_transport_url(EPSON_URL), backend=fake)
    try:
        await transport.open(2.0)
        asyncio.get_running_loop().call_later(0.5, fake.unplug, device)
        start = time.monotonic()
        with pytest.raises(DeviceOffline, match="unplugged") as excinfo:
            await transport.write(b"unplugged mid-job\n" * 100_000, 30)
        assert excinfo.value.sent and time.monotonic() - start < 2.0
        with pytest.raises(DeviceOffline):
            await transport.read(1.0)
        await transport.close()
        with pytest.raises(DeviceOffline, match="no USB device"):
            await transport.open(2.0)
        fake.plug(device)
        await transport.open(2.0)
        # The printer still holds a full buffer of the old job; let it finish so it answers.
        sim.control("speed 0")
        await transport.write(STATUS_PRINTER, 1.0)
        assert await transport.read(1.0) == b"\x16"
    finally:
        await transport.close()
        fake.close()
        sim.stop()


async def test_unplug_while_printing_fails_the_print_as_sent(tmp_path: Path) -> None:
    sim = PrinterSim(tmp_path, speed=40).start()
    device = epson(sim)
    fake = FakeUsbBackend([device])
    driver = make_driver(EPSON_URL, fake)
    try:
        await driver.connect()
        printing = asyncio.create_task(driver.print(receipt_bytes("Unplugged", lines=30)))
        await asyncio.sleep(0.5)
        assert not printing.done(), "still waiting for the printer to confirm"
        fake.unplug(device)
        with pytest.raises(DeviceOffline) as excinfo:
            await asyncio.wait_for(printing, 3.0)
        assert excinfo.value.sent
        with pytest.raises(DeviceOffline):
            await driver.health()
    finally:
        await driver.close()
        fake.close()
        sim.stop()
