"""A fake bleak backend: a BLE printer that is really ``smartpos-sim printer`` over TCP.

:class:`FakeBleakClient` has the shape of ``bleak.BleakClient`` that the BLE transport uses
(``connect``, ``disconnect``, ``is_connected``, ``mtu_size``, ``services``, ``write_gatt_char``,
``start_notify``). Its printer side forwards every written chunk to the simulator's TCP port
and hands the simulator's replies back as notifications, at most MTU - 3 bytes each, as a real
link would. It refuses a chunk longer than MTU - 3 with a ``BleakError`` (a real stack does
too), records each chunk's size, and can :meth:`~FakeBleakClient.drop` the link, which calls
the disconnected callback the way bleak does.

:class:`FakeScanner` stands in for ``bleak.BleakScanner``: tests make it "hear" advertisements
that reach the detection callback as ``BLEDevice``/``AdvertisementData``-shaped objects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bleak.exc import BleakError

from drivers.transports.ble import expand_uuid

NotifyCallback = Callable[[Any, bytearray], None]


@dataclass(frozen=True)
class FakeCharacteristic:
    """A GATT characteristic: full UUID, the service it is in, and its properties."""

    uuid: str
    service_uuid: str
    properties: tuple[str, ...] = ("write-without-response", "notify")


class FakeServices:
    """``BleakGATTServiceCollection``'s lookup by UUID."""

    def __init__(self, layout: dict[str, Iterable[str]]) -> None:
        self.characteristics = [
            FakeCharacteristic(expand_uuid(char), expand_uuid(service))
            for service, chars in layout.items()
            for char in chars
        ]

    def get_characteristic(self, uuid: str) -> FakeCharacteristic | None:
        wanted = expand_uuid(uuid)
        return next((c for c in self.characteristics if c.uuid == wanted), None)


class FakeBleakClient:
    """A BLE printer bridged to the simulator at ``127.0.0.1:sim_port``.

    ``drop_after`` drops the link right after that many chunks were written (a printer that
    goes out of range mid-job); ``connect_delay`` makes ``connect`` that slow; ``reported_mtu``
    is what ``mtu_size`` says when it differs from the link's real ``mtu`` (0: unknown).
    """

    def __init__(
        self,
        address: str,
        *,
        sim_port: int,
        mtu: int = 23,
        layout: dict[str, Iterable[str]] | None = None,
        drop_after: int | None = None,
        connect_delay: float = 0.0,
        reported_mtu: int | None = None,
    ) -> None:
        self.address = address
        self.sim_port = sim_port
        self._mtu = mtu
        self._reported_mtu = mtu if reported_mtu is None else reported_mtu
        self._services = FakeServices(layout or {"18f0": ["2af1", "2af0"]})
        self.drop_after = drop_after
        self.connect_delay = connect_delay
        self.chunk_sizes: list[int] = []
        self.written = bytearray()
        self.notified: list[int] = []
        self._connected = False
        self._disconnected_callback: Callable[[Any], None] | None = None
        self._notify: list[NotifyCallback] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    # --- the BleakClient shape ----------------------------------------------------------------
    def set_disconnected_callback(self, callback: Callable[[Any], None]) -> None:
        self._disconnected_callback = callback

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def mtu_size(self) -> int:
        return self._reported_mtu

    @property
    def services(self) -> FakeServices:
        if not self._connected:
            raise BleakError("Service Discovery has not been performed yet")
        return self._services

    async def connect(self, timeout: float = 10.0) -> None:
        if self.connect_delay:
            await asyncio.sleep(self.connect_delay)
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.sim_port), timeout
            )
        except OSError as exc:
            raise BleakError(f"Device with address {self.address} was not found") from exc
        self._connected = True
        self._pump = asyncio.create_task(self._pump_replies(), name=f"fake-ble-{self.address}")

    async def disconnect(self) -> None:
        was_connected = self._connected
        await self._teardown()
        if was_connected and self._disconnected_callback is not None:
            self._disconnected_callback(self)

    async def start_notify(self, char_specifier: Any, callback: NotifyCallback, **_: Any) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        self._notify.append(callback)

    async def write_gatt_char(self, char_specifier: Any, data: Any, response: bool | None = None) -> None:
        if not self._connected or self._writer is None:
            raise BleakError("Not connected")
        chunk = bytes(data)
        if len(chunk) > self._mtu - 3:
            raise BleakError(f"write of {len(chunk)} bytes exceeds MTU {self._mtu} - 3")
        self.chunk_sizes.append(len(chunk))
        self.written += chunk
        self._writer.write(chunk)
        await self._writer.drain()
        if self.drop_after is not None and len(self.chunk_sizes) >= self.drop_after:
            self.drop()

    # --- test controls ------------------------------------------------------------------------
    def drop(self) -> None:
        """Lose the link now: like bleak, the disconnected callback runs on the event loop."""
        if not self._connected:
            return
        self._connected = False
        if self._writer is not None:
            self._writer.close()
        if self._pump is not None:
            self._pump.cancel()
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback, self)

    async def _teardown(self) -> None:
        self._connected = False
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _pump_replies(self) -> None:
        assert self._reader is not None
        size = self._mtu - 3
        characteristic = self._services.characteristics[-1]
        while True:
            data = await self._reader.read(4096)
            if not data:
                self.drop()  # the simulator went away: so did the "printer"
                return
            for start in range(0, len(data), size):
                piece = bytearray(data[start : start + size])
                self.notified.append(len(piece))
                for callback in list(self._notify):
                    callback(characteristic, piece)


@dataclass
class FakeBleFactory:
    """A ``client_factory`` for :class:`~drivers.transports.ble.BleTransport`; keeps its clients."""

    sim_port: int
    mtu: int = 23
    layout: dict[str, Iterable[str]] | None = None
    drop_after: int | None = None
    connect_delay: float = 0.0
    reported_mtu: int | None = None
    clients: list[FakeBleakClient] = field(default_factory=list)

    def __call__(self, address: str) -> FakeBleakClient:
        client = FakeBleakClient(
            address,
            sim_port=self.sim_port,
            mtu=self.mtu,
            layout=self.layout,
            drop_after=self.drop_after,
            connect_delay=self.connect_delay,
            reported_mtu=self.reported_mtu,
        )
        self.clients.append(client)
        return client


@dataclass(frozen=True)
class FakeDevice:
    """``bleak.backends.device.BLEDevice``'s address and name."""

    address: str
    name: str | None = None


@dataclass(frozen=True)
class FakeAdvertisementData:
    """``bleak.backends.scanner.AdvertisementData``'s fields that discovery reads."""

    local_name: str | None
    service_uuids: list[str]
    rssi: int = -60


class FakeScanner:
    """``bleak.BleakScanner`` with a detection callback; :meth:`advertise` plays one packet.

    ``fail_with`` makes ``start`` raise it, as bleak does on a box without Bluetooth.
    """

    def __init__(self, callback: Callable[[Any, Any], None], fail_with: Exception | None = None) -> None:
        self.callback = callback
        self.fail_with = fail_with
        self.running = False

    async def start(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.running = True

    async def stop(self) -> None:
        self.running = False

    def advertise(self, address: str, name: str | None, service_uuids: Iterable[str]) -> None:
        if self.running:
            uuids = [expand_uuid(uuid) for uuid in service_uuids]
            self.callback(FakeDevice(address, name), FakeAdvertisementData(name, uuids))
