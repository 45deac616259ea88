"""The serial scanner driver over a real pseudo-terminal and the real ``SerialTransport``.

The test plays the scanner on the pty master: it writes scans the way a scanner does, split
into pieces where a USB-serial adapter would split them, and checks the codes delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest

from drivers.discovery.base import FoundDevice
from drivers.errors import DeviceOffline
from drivers.serial_scanner import SerialScanner, SerialScannerOptions
from drivers.transports import create_transport, parse_transport_url
from tests.support.pty_pair import PtyDevice

FakeScanner = PtyDevice


class Running:
    """A connected driver whose ``scans`` loop runs in a task, delivering into a queue."""

    def __init__(self, driver: SerialScanner) -> None:
        self.driver = driver
        self.codes: asyncio.Queue[str] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Running:
        await self.driver.connect()
        self.task = asyncio.create_task(self.driver.scans(self._deliver))
        return self

    async def _deliver(self, code: str) -> None:
        await self.codes.put(code)

    async def next(self, timeout: float = 2.0) -> str:
        return await asyncio.wait_for(self.codes.get(), timeout)

    async def nothing_more(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert self.codes.empty(), f"unexpected code {self.codes.get_nowait()!r}"

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeviceOffline):
                await self.task
        await self.driver.close()


@pytest.fixture
def scanner() -> Iterator[FakeScanner]:
    fake = FakeScanner()
    yield fake
    fake.close()


def make_driver(scanner: FakeScanner, **options: object) -> SerialScanner:
    opts = msgspec.convert(options, SerialScannerOptions)
    return SerialScanner("scan1", create_transport(parse_transport_url(scanner.url)), opts)


@contextlib.asynccontextmanager
async def running(scanner: FakeScanner, **options: object) -> AsyncIterator[Running]:
    run = await Running(make_driver(scanner, **options)).start()
    try:
        yield run
    finally:
        await run.stop()


async def test_codes_with_each_suffix(scanner: FakeScanner) -> None:
    async with running(scanner) as run:
        scanner.send(b"4006381333931\r")
        assert await run.next() == "4006381333931"
        scanner.send(b"96385074\r\n")
        assert await run.next() == "96385074"
        scanner.send(b"ABC-123\nXYZ\r")
        assert await run.next() == "ABC-123"
        assert await run.next() == "XYZ"
        await run.nothing_more()


async def test_a_scan_split_across_two_writes(scanner: FakeScanner) -> None:
    async with running(scanner) as run:
        scanner.send(b"400638")
        await run.nothing_more(0.2)
        scanner.send(b"1333931\r")
        assert await run.next() == "4006381333931"
        # The CR of a CR LF in one write and the LF in the next still give one code.
        scanner.send(b"5901234123457\r")
        assert await run.next() == "5901234123457"
        scanner.send(b"\n")
        await run.nothing_more(0.2)


async def test_crlf_suffix_only(scanner: FakeScanner) -> None:
    async with running(scanner, suffix="crlf") as run:
        scanner.send(b"12\r")
        await asyncio.sleep(0.1)
        scanner.send(b"34\r\n")
        assert await run.next() == "1234"


async def test_aim_identifier_stripped_when_enabled(scanner: FakeScanner) -> None:
    async with running(scanner, strip_aim=True) as run:
        scanner.send(b"]E04006381333931\r]Q3https://example.com/p/1\r")
        assert await run.next() == "4006381333931"
        assert await run.next() == "https://example.com/p/1"


async def test_aim_identifier_kept_by_default(scanner: FakeScanner) -> None:
    async with running(scanner) as run:
        scanner.send(b"]E04006381333931\r")
        assert await run.next() == "]E04006381333931"


async def test_over_long_scan_is_logged_and_skipped(
    scanner: FakeScanner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.serial_scanner")
    async with running(scanner, max_length=16) as run:
        scanner.send(b"1" * 40)
        await asyncio.sleep(0.1)
        scanner.send(b"2" * 40 + b"\rOK-1\r")
        assert await run.next() == "OK-1"
        await run.nothing_more(0.2)
        scanner.send(b"\x00\x07\r\x1b[2JOK-2\r")  # control bytes are dropped from the code
        assert await run.next() == "[2JOK-2"
    rejected = [r for r in caplog.records if "scan rejected" in r.getMessage()]
    assert len(rejected) == 1


async def test_health_and_offline_when_the_port_disappears(scanner: FakeScanner) -> None:
    driver = make_driver(scanner)
    with pytest.raises(DeviceOffline):
        await driver.health()
    with pytest.raises(DeviceOffline):
        await driver.scans(lambda code: asyncio.sleep(0))
    run = await Running(driver).start()
    try:
        health = await driver.health()
        assert health.state == "online"
        assert "no status" in health.detail
        scanner.send(b"111\r")
        assert await run.next() == "111"
        scanner.unplug()
        assert run.task is not None
        with pytest.raises(DeviceOffline):
            await asyncio.wait_for(run.task, 3)
        with pytest.raises(DeviceOffline):
            await driver.health()
    finally:
        await run.stop()


async def test_reconnect_forgets_a_half_line(scanner: FakeScanner) -> None:
    driver = make_driver(scanner)
    run = await Running(driver).start()
    scanner.send(b"HALF")
    await asyncio.sleep(0.2)
    await run.stop()
    run = await Running(driver).start()
    try:
        scanner.send(b"WHOLE\r")
        assert await run.next() == "WHOLE"
    finally:
        await run.stop()


async def test_an_error_in_the_callback_reaches_the_caller(scanner: FakeScanner) -> None:
    driver = make_driver(scanner)
    await driver.connect()

    async def refuse(code: str) -> None:
        raise RuntimeError(f"cannot take {code}")

    try:
        scanner.send(b"999\r")
        with pytest.raises(RuntimeError, match="cannot take 999"):
            await asyncio.wait_for(driver.scans(refuse), 3)
    finally:
        await driver.close()


def test_options() -> None:
    opts = SerialScanner.parse_options({})
    assert (opts.suffix, opts.max_length, opts.strip_aim) == ("auto", 128, False)
    for bad in ({"suffix": "tab"}, {"max_length": 0}, {"baud": 9600}, {"poll_interval": 0}):
        with pytest.raises(msgspec.ValidationError):
            SerialScanner.parse_options(bad)


def serial(by_id: str, name: str = "") -> FoundDevice:
    path = f"/dev/serial/by-id/{by_id}"
    return FoundDevice(id=path, bus="serial", url=f"serial://{path}", name=name)


@pytest.mark.parametrize(
    ("found", "score"),
    [
        (serial("usb-Honeywell_Imaging___Mobility_1900GHD_19100B4A1F-if00"), 10),
        (serial("usb-Symbol_Technologies__Inc__2008_Symbol_Bar_Code_Scanner-if00"), 10),
        (serial("usb-Datalogic_ADC__Inc._Handheld_Barcode_Scanner_S_N_123-if00"), 10),
        (serial("usb-Newland_Auto-ID_NLS-HR22-if00"), 10),
        (serial("usb-ZEBRA_TECHNOLOGIES_DS2208-if00"), 10),
        (serial("ttyUSB1", name="USB Barcode Reader"), 10),
        (serial("usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"), 0),
        (serial("usb-Generic_CD5220_Pole_Display-if00-port0"), 0),
        (FoundDevice(id="x", bus="usb", url="usb://05e0:1200", name="Symbol Scanner"), 0),
    ],
)
def test_supports(found: FoundDevice, score: int) -> None:
    assert SerialScanner.supports(found) == score
