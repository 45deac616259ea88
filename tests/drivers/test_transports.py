"""Transport URLs, and the TCP and serial transports against real sockets and a pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import tty

import pytest

from drivers.errors import DeviceOffline, Timeout, UnsupportedTransport
from drivers.transports import create_transport, parse_transport_url
from drivers.transports.serial import serial_settings
from tests.support.procs import free_port


def test_parse_urls() -> None:
    url = parse_transport_url("tcp://10.0.0.5:9100")
    assert (url.scheme, url.host, url.port) == ("tcp", "10.0.0.5", 9100)
    assert parse_transport_url("tcp://printer.local", default_port=9100).port == 9100
    serial = parse_transport_url("serial:///dev/ttyUSB0?baudrate=9600&bytesize=7&parity=E")
    assert serial.path == "/dev/ttyUSB0"
    assert serial_settings(serial) == {
        "baudrate": 9600,
        "bytesize": 7,
        "parity": "E",
        "stopbits": 1,
        "rtscts": False,
        "xonxoff": False,
    }


@pytest.mark.parametrize(
    "url",
    ["http://x", "tcp://", "tcp://host:notaport", "serial://", "tcp://h:1?a=1&a=2"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(UnsupportedTransport):
        parse_transport_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "serial:///dev/x?baudrate=fast",
        "serial:///dev/x?bytesize=9",
        "serial:///dev/x?parity=Q",
        "serial:///dev/x?speed=1",
    ],
)
def test_bad_serial_options(url: str) -> None:
    with pytest.raises(UnsupportedTransport):
        create_transport(parse_transport_url(url))


def test_every_scheme_gets_its_own_transport() -> None:
    from drivers.transports.ble import BleTransport
    from drivers.transports.serial import SerialTransport
    from drivers.transports.tcp import TcpTransport
    from drivers.transports.usb import UsbTransport

    expected = {
        "tcp://127.0.0.1:9100": TcpTransport,
        "serial:///dev/ttyUSB0?baudrate=19200": SerialTransport,
        "usb://04b8:0e15?serial=X": UsbTransport,
        "ble://AA:BB:CC:DD:EE:FF": BleTransport,
    }
    for url, kind in expected.items():
        assert type(create_transport(parse_transport_url(url))) is kind
    with pytest.raises(UnsupportedTransport, match="unknown transport"):
        parse_transport_url("lpt://1")


async def test_tcp_roundtrip_timeout_and_close() -> None:
    received = bytearray()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.extend(await reader.readexactly(5))
        writer.write(b"pong")
        await writer.drain()
        await reader.read()  # wait for the client to go
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = create_transport(parse_transport_url(f"tcp://127.0.0.1:{port}"))
    await transport.open(timeout=2)
    await transport.write(b"ping!", timeout=2)
    assert await transport.read(timeout=2) == b"pong"
    with pytest.raises(Timeout):
        await transport.read(timeout=0.2)
    await transport.close()
    await transport.close()  # closing twice is fine
    assert bytes(received) == b"ping!"
    server.close()
    await server.wait_closed()


async def test_tcp_refused_is_offline() -> None:
    transport = create_transport(parse_transport_url(f"tcp://127.0.0.1:{free_port()}"))
    with pytest.raises(DeviceOffline, match="cannot connect"):
        await transport.open(timeout=2)
    with pytest.raises(DeviceOffline):
        await transport.write(b"x", timeout=1)


async def test_serial_over_a_pseudo_terminal() -> None:
    master, slave = pty.openpty()
    tty.setraw(master)
    try:
        path = os.ttyname(slave)
        transport = create_transport(parse_transport_url(f"serial://{path}?baudrate=19200"))
        await transport.open(timeout=2)
        await transport.write(b"\x10\x04\x01", timeout=2)
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, os.read, master, 3) == b"\x10\x04\x01"
        os.write(master, b"\x16")
        assert await transport.read(timeout=2) == b"\x16"
        await transport.close()
    finally:
        os.close(master)
        os.close(slave)


async def test_serial_missing_port_is_offline() -> None:
    transport = create_transport(parse_transport_url("serial:///dev/does-not-exist-smartpos"))
    with pytest.raises(DeviceOffline):
        await transport.open(timeout=2)
