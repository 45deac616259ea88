"""Line display drivers over a real pseudo-terminal and the real ``SerialTransport``.

The test plays the display on the pty master and checks the exact bytes on the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import msgspec
import pytest

from drivers.discovery.base import FoundDevice
from drivers.errors import DeviceOffline
from drivers.line_display import (
    Cd5220Display,
    Cd5220Options,
    EpsonDmdDisplay,
    LineDisplayOptions,
)
from drivers.transports import create_transport, parse_transport_url
from tests.support.pty_pair import PtyDevice

BLANK_LOWER = b"\x1bQB" + b" " * 20 + b"\r"


FakeDisplay = PtyDevice


@pytest.fixture
def display() -> Iterator[FakeDisplay]:
    fake = FakeDisplay()
    yield fake
    fake.close()


def cd5220(display: FakeDisplay, **options: object) -> Cd5220Display:
    opts = msgspec.convert(options, Cd5220Options)
    return Cd5220Display("pole", create_transport(parse_transport_url(display.url)), opts)


def dmd(display: FakeDisplay, **options: object) -> EpsonDmdDisplay:
    opts = msgspec.convert(options, LineDisplayOptions)
    return EpsonDmdDisplay("dmd", create_transport(parse_transport_url(display.url)), opts)


async def test_cd5220_connect_and_show_exact_bytes(display: FakeDisplay) -> None:
    driver = cd5220(display)
    await driver.connect()
    try:
        assert await display.wire() == bytes.fromhex("1B 40 0C")
        assert driver.size == (20, 2)
        await driver.show(("TOTAL", "12.50"))
        assert await display.wire() == (
            bytes.fromhex("1B 51 41")
            + b"TOTAL".ljust(20)
            + b"\r"
            + bytes.fromhex("1B 51 42")
            + b"12.50".ljust(20)
            + b"\r"
        )
    finally:
        await driver.close()


async def test_brightness_is_set_on_connect(display: FakeDisplay) -> None:
    driver = cd5220(display, brightness=2)
    await driver.connect()
    await driver.close()
    assert await display.wire() == bytes.fromhex("1B 40 1B 2A 02 0C")


async def test_dmd_positions_rows_with_the_cursor(display: FakeDisplay) -> None:
    driver = dmd(display, brightness=4)
    await driver.connect()
    try:
        assert await display.wire() == bytes.fromhex("1B 40 1F 58 04 0C")
        await driver.show(("Čaj", "1,80"))
        assert await display.wire() == (
            bytes.fromhex("1F 24 01 01") + b"Caj".ljust(20) + bytes.fromhex("1F 24 01 02") + b"1,80".ljust(20)
        )
        await driver.clear()
        assert await display.wire() == bytes.fromhex("0C")
    finally:
        await driver.close()


async def test_unchanged_text_is_not_redrawn(display: FakeDisplay) -> None:
    driver = cd5220(display)
    await driver.connect()
    try:
        await display.wire()
        await driver.show(("Coffee", "2.40"))
        first = await display.wire()
        assert first.startswith(b"\x1bQACoffee")
        await driver.show(("Coffee", "2.40"))
        # Text that looks the same on the glass (Ć shows as C, trailing blanks, a third line
        # the display has no room for) is no change either.
        await driver.show(("Ćoffee  ", "2.40", "dropped"))
        assert await display.wire() == b""
        await driver.show(("Coffee", "4.80"))
        assert (
            await display.wire() == b"\x1bQA" + b"Coffee".ljust(20) + b"\r\x1bQB" + b"4.80".ljust(20) + b"\r"
        )
        # After a clear, blank lines are what the display already shows.
        await driver.clear()
        assert await display.wire() == b"\x0c"
        await driver.show(())
        assert await display.wire() == b""
        await driver.show(("Coffee", "4.80"))
        assert await display.wire() != b""
    finally:
        await driver.close()


async def test_reconnect_redraws(display: FakeDisplay) -> None:
    driver = cd5220(display)
    await driver.connect()
    await driver.show(("Hello",))
    await driver.close()
    await display.wire()
    await driver.connect()
    await driver.show(("Hello",))
    await driver.close()
    # A new connection starts from a cleared display, so the same text is sent again.
    assert (
        await display.wire()
        == bytes.fromhex("1B 40 0C") + b"\x1bQA" + b"Hello".ljust(20) + b"\r" + BLANK_LOWER
    )


async def test_health_online_while_open_and_offline_when_unplugged(display: FakeDisplay) -> None:
    driver = cd5220(display)
    with pytest.raises(DeviceOffline):
        await driver.health()
    await driver.connect()
    try:
        health = await driver.health()
        assert health.state == "online"
        assert "no status" in health.detail
        display.unplug()
        # The transport notices the hang-up on its next read of the port (EIO).
        deadline = time.monotonic() + 3
        while driver.transport.is_open and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        with pytest.raises(DeviceOffline):
            await driver.health()
        with pytest.raises(DeviceOffline):
            await driver.show(("lost",))
        with pytest.raises(DeviceOffline):
            await driver.clear()
    finally:
        await driver.close()
    await driver.close()  # closing twice is fine


async def test_show_right_after_unplug_is_offline(display: FakeDisplay) -> None:
    driver = dmd(display)
    await driver.connect()
    try:
        display.unplug()
        with pytest.raises(DeviceOffline):
            for n in range(50):
                await driver.show((f"line {n}",))
                await asyncio.sleep(0.02)
    finally:
        await driver.close()


async def test_connect_to_a_missing_port_is_offline() -> None:
    url = parse_transport_url("serial:///dev/does-not-exist-smartpos-display")
    driver = Cd5220Display("pole", create_transport(url), Cd5220Options())
    with pytest.raises(DeviceOffline):
        await driver.connect()


def test_options() -> None:
    opts = Cd5220Display.parse_options({})
    assert (opts.columns, opts.rows, opts.brightness, opts.idle_text) == (20, 2, None, "Welcome")
    assert EpsonDmdDisplay.parse_options({"rows": 4}).rows == 4
    for bad in ({"rows": 3}, {"brightness": 5}, {"columns": 0}, {"colour": "green"}):
        with pytest.raises(msgspec.ValidationError):
            Cd5220Display.parse_options(bad)


def serial(by_id: str, name: str = "") -> FoundDevice:
    path = f"/dev/serial/by-id/{by_id}"
    return FoundDevice(id=path, bus="serial", url=f"serial://{path}", name=name)


@pytest.mark.parametrize(
    ("found", "dmd_score", "cd5220_score"),
    [
        (serial("usb-Prolific_Technology_Inc._USB-Serial_Controller_D-if00-port0"), 0, 0),
        (serial("usb-FTDI_FT232R_USB_UART_A9VFD123-if00-port0"), 0, 0),
        (serial("usb-Generic_CD5220_Pole_Display_0001-if00-port0"), 0, 10),
        (serial("usb-1a86_USB_VFD_Customer_Display-if00-port0"), 0, 10),
        (serial("usb-Posiflex_PD-2800-if00"), 0, 10),
        (serial("ttyUSB0", name="Customer Display"), 0, 10),
        (serial("usb-EPSON_DM-D110_VFD_X123-if00"), 10, 0),
        (serial("usb-Seiko_Epson_DM-D210-if00-port0"), 10, 0),
        (FoundDevice(id="AA", bus="ble", url="ble://AA", name="VFD Pole Display"), 0, 0),
    ],
)
def test_supports(found: FoundDevice, dmd_score: int, cd5220_score: int) -> None:
    assert EpsonDmdDisplay.supports(found) == dmd_score
    assert Cd5220Display.supports(found) == cd5220_score
