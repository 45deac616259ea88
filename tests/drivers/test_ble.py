"""Bluetooth LE: the transport and discovery, with a fake bleak client bridged to the simulator.

BlueZ is not available here (no adapter, no D-Bus), so the radio is faked at bleak's API: the
"printer" behind the fake client is the real ``smartpos-sim printer`` process, which prints the
receipt and answers status requests, and its answers come back as notifications.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from bleak.exc import BleakError

import drivers.discovery.ble as ble_discovery
from drivers.base import DeviceHealth
from drivers.discovery.base import FoundDevice
from drivers.discovery.ble import BleDiscovery
from drivers.errors import DeviceOffline, ProtocolError, Timeout, UnsupportedTransport
from drivers.escpos_printer import EscposOptions, EscposPrinter
from drivers.transports import create_transport, parse_transport_url
from drivers.transports.ble import BleTransport, expand_uuid, short_uuid
from drivers.transports.factory import TransportOptions
from protocols.escpos import Columns, ReceiptDocument, Text, render
from tests.support.fake_ble import FakeBleFactory, FakeScanner
from tests.support.procs import PrinterSim, free_port

URL = "ble://aa:bb:cc:dd:ee:01?service=18f0&write=2af1&notify=2af0"


def receipt_bytes(title: str, lines: int = 8) -> bytes:
    blocks: list[Any] = [Text(text=title, bold=True, align="center")]
    blocks += [Columns(left=f"Artikal {i}", right=f"{i}.50") for i in range(lines)]
    return render(ReceiptDocument(blocks=blocks, language="bs"))


def printer_over_ble(factory: FakeBleFactory, url: str = URL) -> EscposPrinter:
    transport = create_transport(parse_transport_url(url), TransportOptions(ble_client_factory=factory))
    options = EscposOptions(reply_timeout=1.0, poll_interval=0.2, connect_timeout=2.0)
    return EscposPrinter("ble-printer", transport, options)


def test_urls_and_uuids() -> None:
    transport = BleTransport(parse_transport_url("ble://aa:bb:cc:dd:ee:ff"))
    assert (transport.address, transport.service, transport.write_uuid, transport.notify_uuid) == (
        "AA:BB:CC:DD:EE:FF",
        "18f0",
        "2af1",
        None,
    )
    assert expand_uuid("18F0") == "000018f0-0000-1000-8000-00805f9b34fb"
    assert short_uuid("0000181D-0000-1000-8000-00805F9B34FB") == "181d"
    full = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
    assert expand_uuid(full) == full and short_uuid(full) == full
    for bad in ("ble://not-an-address", "ble://AA:BB:CC:DD:EE:FF?write=xyz", "ble://AA:BB:CC:DD:EE:FF?mtu=9"):
        with pytest.raises(UnsupportedTransport):
            BleTransport(parse_transport_url(bad))


@pytest.mark.parametrize("mtu", [23, 185])
async def test_receipt_prints_over_ble_with_status_by_notification(sim: PrinterSim, mtu: int) -> None:
    factory = FakeBleFactory(sim_port=sim.port, mtu=mtu)
    driver = printer_over_ble(factory)
    await driver.connect()
    try:
        # DLE EOT 1..4 go out as writes, the four answers come back as notifications.
        assert await driver.health() == DeviceHealth(state="online")
        data = receipt_bytes("Račun preko Bluetootha")
        await driver.print(data)  # confirmed by the printer's GS ( H answer, also notified
        paper = sim.paper()
        assert "Račun preko Bluetootha" in paper and "Artikal 7" in paper and "--- CUT ---" in paper
        client = factory.clients[0]
        assert client.notified, "status and confirmation came back as notifications"
        assert max(client.chunk_sizes) == mtu - 3, "full chunks of MTU - 3 bytes"
        assert all(size <= mtu - 3 for size in client.chunk_sizes)
        assert data in bytes(client.written), "the job went out whole and in order"
    finally:
        await driver.close()
    assert not factory.clients[0].is_connected


async def test_unknown_mtu_means_twenty_byte_chunks(sim: PrinterSim) -> None:
    factory = FakeBleFactory(sim_port=sim.port, mtu=185, reported_mtu=0)  # a backend that cannot tell
    transport = create_transport(parse_transport_url(URL), TransportOptions(ble_client_factory=factory))
    assert isinstance(transport, BleTransport)
    await transport.open(timeout=2)
    try:
        assert transport.chunk_size() == 20
        await transport.write(b"\x1b@" + b"x" * 95 + b"\n", timeout=2)
        assert factory.clients[0].chunk_sizes == [20, 20, 20, 20, 18]
    finally:
        await transport.close()


async def test_drop_mid_job_is_offline_with_sent(sim: PrinterSim) -> None:
    factory = FakeBleFactory(sim_port=sim.port, drop_after=5)
    driver = printer_over_ble(factory)
    await driver.connect()
    try:
        with pytest.raises(DeviceOffline) as excinfo:
            await driver.print(receipt_bytes("Prekinuto", lines=30))
        assert excinfo.value.sent, "chunks reached the printer: a retry may print twice"
        assert len(factory.clients[0].chunk_sizes) == 5
        assert not driver.transport.is_open
        with pytest.raises(DeviceOffline):
            await driver.transport.write(b"\x10\x04\x01", timeout=1)
        with pytest.raises(DeviceOffline):
            await driver.transport.read(timeout=1)
    finally:
        await driver.close()


async def test_transport_drop_wakes_a_waiting_read(sim: PrinterSim) -> None:
    factory = FakeBleFactory(sim_port=sim.port)
    transport = create_transport(parse_transport_url(URL), TransportOptions(ble_client_factory=factory))
    await transport.open(timeout=2)
    try:
        with pytest.raises(Timeout):
            await transport.read(timeout=0.1)
        reader = asyncio.create_task(transport.read(timeout=10))
        await asyncio.sleep(0.05)
        factory.clients[0].drop()
        with pytest.raises(DeviceOffline):
            await asyncio.wait_for(reader, 2)
        with pytest.raises(DeviceOffline) as excinfo:
            await transport.write(b"abc", timeout=1)
        assert not excinfo.value.sent
    finally:
        await transport.close()
    # Reopening gives a fresh link; the old link's late callback does not touch it.
    await transport.open(timeout=2)
    assert transport.is_open
    await transport.close()


async def test_open_failures(sim: PrinterSim) -> None:
    slow = FakeBleFactory(sim_port=sim.port, connect_delay=1.0)
    transport = BleTransport(parse_transport_url(URL), client_factory=slow)
    with pytest.raises(DeviceOffline, match="no connection within"):
        await transport.open(timeout=0.2)
    assert not transport.is_open

    nobody = BleTransport(parse_transport_url(URL), client_factory=FakeBleFactory(sim_port=free_port()))
    with pytest.raises(DeviceOffline, match="cannot connect"):
        await nobody.open(timeout=2)

    other_gatt = FakeBleFactory(sim_port=sim.port, layout={"ffe0": ["ffe1"]})
    wrong = BleTransport(parse_transport_url(URL), client_factory=other_gatt)
    with pytest.raises(ProtocolError, match="no characteristic 2af1"):
        await wrong.open(timeout=2)
    assert not other_gatt.clients[0].is_connected


async def test_default_client_without_bluetooth_is_offline() -> None:
    # No factory: the real bleak client. This box has no BlueZ, so opening fails as offline.
    transport = BleTransport(parse_transport_url("ble://AA:BB:CC:DD:EE:FF"))
    with pytest.raises(DeviceOffline):
        await transport.open(timeout=2)
    await transport.close()


class RecordingSink:
    """A DiscoverySink that keeps what it was told."""

    def __init__(self) -> None:
        self.found: list[FoundDevice] = []
        self.gone: list[str] = []

    def appeared(self, found: FoundDevice) -> None:
        self.found.append(found)

    def disappeared(self, device_id: str) -> None:
        self.gone.append(device_id)


def fake_scanning(**kwargs: Any) -> tuple[BleDiscovery, list[FakeScanner]]:
    scanners: list[FakeScanner] = []

    def factory(callback: Any) -> FakeScanner:
        scanners.append(FakeScanner(callback))
        return scanners[-1]

    return BleDiscovery(scanner_factory=factory, **kwargs), scanners


async def test_discovery_reports_printers_and_scales_and_ignores_others() -> None:
    discovery, scanners = fake_scanning()
    sink = RecordingSink()
    await discovery.start(sink)
    try:
        radio = scanners[0]
        radio.advertise("aa:bb:cc:00:00:01", "MTP-II", ["18f0"])
        radio.advertise("aa:bb:cc:00:00:01", None, ["18f0"])  # an advertisement without the name
        radio.advertise("aa:bb:cc:00:00:02", "Printer001", ["ffe0", "180a"])
        radio.advertise("aa:bb:cc:00:00:03", "Vaga", ["181d"])
        radio.advertise("aa:bb:cc:00:00:04", "Galaxy Buds", ["fe9f", "180f"])
        radio.advertise("aa:bb:cc:00:00:05", None, [])
        by_id = {device.id: device for device in sink.found}
        assert len(sink.found) == 3 and set(by_id) == {
            "ble:AA:BB:CC:00:00:01",
            "ble:AA:BB:CC:00:00:02",
            "ble:AA:BB:CC:00:00:03",
        }
        printer = by_id["ble:AA:BB:CC:00:00:01"]
        assert printer == FoundDevice(
            id="ble:AA:BB:CC:00:00:01",
            bus="ble",
            url="ble://AA:BB:CC:00:00:01?service=18f0&write=2af1",
            name="MTP-II",
            services=("18f0",),
            properties={"kind": "printer"},
        )
        assert by_id["ble:AA:BB:CC:00:00:02"].url == "ble://AA:BB:CC:00:00:02?service=ffe0&write=ffe1"
        assert by_id["ble:AA:BB:CC:00:00:02"].services == ("180a", "ffe0")
        scale = by_id["ble:AA:BB:CC:00:00:03"]
        assert scale.url == "ble://AA:BB:CC:00:00:03?service=181d&notify=2a9d" and scale.name == "Vaga"
        # The URLs open as transports, and the generic ESC/POS driver claims the printers only.
        assert isinstance(create_transport(parse_transport_url(printer.url)), BleTransport)
        assert [EscposPrinter.supports(device) for device in sink.found] == [10, 10, 0]
    finally:
        await discovery.stop()
    assert not scanners[0].running


async def test_discovery_forgets_a_device_that_stops_advertising() -> None:
    discovery, scanners = fake_scanning(forget_after=0.4, check_interval=0.05)
    sink = RecordingSink()
    await discovery.start(sink)
    try:
        radio = scanners[0]
        radio.advertise("aa:bb:cc:00:00:01", "MTP-II", ["18f0"])
        radio.advertise("aa:bb:cc:00:00:03", "Vaga", ["181d"])
        for _ in range(8):  # the printer keeps advertising, the scale went quiet
            await asyncio.sleep(0.1)
            radio.advertise("aa:bb:cc:00:00:01", "MTP-II", ["18f0"])
        assert sink.gone == ["ble:AA:BB:CC:00:00:03"]
        assert len(sink.found) == 2, "repeated advertisements are not news"
        radio.advertise("aa:bb:cc:00:00:03", "Vaga", ["181d"])  # back in range
        assert sink.found[-1].id == "ble:AA:BB:CC:00:00:03"
    finally:
        await discovery.stop()


async def test_discovery_without_bluetooth_is_quiet(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ble_discovery, "_unavailable_logged", False)
    caplog.set_level(logging.DEBUG, logger="drivers.discovery.ble")
    failing = BleDiscovery(scanner_factory=lambda cb: FakeScanner(cb, fail_with=BleakError("No adapter")))
    sink = RecordingSink()
    for _ in range(2):
        await failing.start(sink)
        assert not failing.available
        await failing.stop()
    infos = [r for r in caplog.records if r.levelno == logging.INFO and "discovery is off" in r.message]
    assert len(infos) == 1, "said once, not on every start"

    # The real bleak scanner on this box (no D-Bus, no adapter) fails the same quiet way.
    real = BleDiscovery()
    await real.start(sink)
    await real.stop()
    if not real.available:
        assert sink.found == [] and sink.gone == []
