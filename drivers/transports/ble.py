"""Bluetooth LE transport: a byte stream over two GATT characteristics, through bleak.

``ble://AA:BB:CC:DD:EE:FF?service=18f0&write=2af1&notify=2af1``: bytes to the device are
written to the ``write`` characteristic, bytes from it arrive as notifications of the
``notify`` one (optional: many printers only listen). Defaults follow the reference sheet's
ESC/POS BLE printers: service ``18F0``, write characteristic ``2AF1``. Short UUIDs are expanded
to the Bluetooth base UUID, as bleak and BlueZ name characteristics by their full UUID.

A write is split into chunks of MTU - 3 bytes (the ATT header takes 3; 20 when the MTU is
unknown), each a write without response, since that is what these printers expect and it
keeps a receipt from costing one round trip per 20 bytes. The whole write honours the caller's
timeout. Notifications go into a queue that :meth:`BleTransport.read` drains.

bleak is imported only when a default client is built, so tests (and hubs without BLE
devices) never pay for it. A lost link is reported by bleak's disconnected callback and turns
every later read and write into ``DeviceOffline``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any, Protocol

from drivers.errors import DeviceOffline, ProtocolError, Timeout, UnsupportedTransport
from drivers.transports.base import Transport, TransportUrl

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "18f0"
DEFAULT_WRITE = "2af1"
ATT_HEADER = 3
DEFAULT_CHUNK = 20  # MTU 23, the minimum every BLE link supports, less the ATT header
MAX_CHUNK = 512  # ATT attribute values are at most 512 bytes, whatever the MTU
_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"
_HEX = frozenset("0123456789abcdef")


def expand_uuid(uuid: str) -> str:
    """A 16- or 32-bit UUID (``18f0``) as a full one (``000018f0-0000-1000-8000-00805f9b34fb``)."""
    value = uuid.strip().lower()
    if len(value) in (4, 8) and set(value) <= _HEX:
        return value.rjust(8, "0") + _BASE_UUID_TAIL
    return value


def short_uuid(uuid: str) -> str:
    """The 16-bit form of a base UUID (``18f0``); any other UUID lower-cased and unchanged."""
    value = uuid.strip().lower()
    if value.endswith(_BASE_UUID_TAIL) and value.startswith("0000") and len(value) == 36:
        return value[4:8]
    return value


def _valid_uuid(uuid: str) -> bool:
    value = expand_uuid(uuid)
    parts = value.split("-")
    return len(value) == 36 and [len(p) for p in parts] == [8, 4, 4, 4, 12] and set("".join(parts)) <= _HEX


def _valid_address(address: str) -> bool:
    parts = address.split(":")
    return len(parts) == 6 and all(len(p) == 2 and set(p.lower()) <= _HEX for p in parts)


class BleClient(Protocol):
    """The part of ``bleak.BleakClient`` this transport uses (tests give a fake with this shape)."""

    @property
    def is_connected(self) -> bool: ...

    @property
    def mtu_size(self) -> int: ...

    @property
    def services(self) -> Any: ...

    async def connect(self, **kwargs: Any) -> None: ...

    async def disconnect(self) -> None: ...

    async def write_gatt_char(self, char_specifier: Any, data: Any, response: bool | None = None) -> None: ...

    async def start_notify(self, char_specifier: Any, callback: Any, **kwargs: Any) -> None: ...


ClientFactory = Callable[[str], Any]


def _is_link_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the Bluetooth link (not our code) failed.

    A ``BleakError`` can only exist once bleak is imported, so it is looked up in
    ``sys.modules`` instead of importing bleak here (see the module docstring).
    """
    if isinstance(exc, OSError | EOFError):
        return True
    bleak_exc = sys.modules.get("bleak.exc")
    return bleak_exc is not None and isinstance(exc, bleak_exc.BleakError)


class BleTransport(Transport):
    """One BLE GATT link to one device; see the module docstring for the URL and behaviour."""

    def __init__(self, url: TransportUrl, client_factory: ClientFactory | None = None) -> None:
        self.url = url
        self.address = url.host.upper()
        if not _valid_address(self.address):
            raise UnsupportedTransport(f"{url}: expected a Bluetooth address like ble://AA:BB:CC:DD:EE:FF")
        unknown = set(url.query) - {"service", "write", "notify"}
        if unknown:
            raise UnsupportedTransport(f"{url}: unknown option(s) {', '.join(sorted(unknown))}")
        self.service = url.query.get("service") or DEFAULT_SERVICE
        self.write_uuid = url.query.get("write") or DEFAULT_WRITE
        self.notify_uuid = url.query.get("notify") or None
        for uuid in (self.service, self.write_uuid, self.notify_uuid):
            if uuid is not None and not _valid_uuid(uuid):
                raise UnsupportedTransport(f"{url}: {uuid!r} is not a Bluetooth UUID")
        self._factory = client_factory
        self._client: BleClient | None = None
        self._write_char: Any = None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._lost = False
        # Bumped by every close(): a late callback from an earlier link must not mark the
        # current one as lost.
        self._generation = 0

    def _build_client(self) -> BleClient:
        on_disconnect = self._disconnect_callback()
        if self._factory is not None:
            client: BleClient = self._factory(self.address)
            # bleak takes its disconnected callback in the constructor only; a factory-built
            # client offers the hook bleak's backends have, if it has one. Without it a lost
            # link is still noticed: the next write fails and reads check is_connected.
            hook = getattr(client, "set_disconnected_callback", None)
            if callable(hook):
                hook(on_disconnect)
            return client
        import bleak

        return bleak.BleakClient(
            self.address,
            disconnected_callback=on_disconnect,
            services=[expand_uuid(self.service)],  # lets the OS resolve only what we use
        )

    def _disconnect_callback(self) -> Callable[..., None]:
        generation = self._generation

        def on_disconnect(_client: object = None) -> None:
            if generation != self._generation:
                return
            self._lost = True
            self._queue.put_nowait(None)  # wakes a waiting read

        return on_disconnect

    def _on_notify(self, _sender: object, data: bytearray) -> None:
        if data:
            self._queue.put_nowait(bytes(data))

    @property
    def is_open(self) -> bool:
        client = self._client
        return client is not None and not self._lost and client.is_connected

    async def open(self, timeout: float) -> None:
        await self.close()
        self._queue = asyncio.Queue()
        self._lost = False
        try:
            client = self._build_client()
        except Exception as exc:
            if not _is_link_error(exc):
                raise
            raise DeviceOffline(f"{self.url}: Bluetooth is not available: {exc}") from None
        self._client = client
        try:
            async with asyncio.timeout(timeout):
                await client.connect(timeout=timeout)
                self._write_char = self._characteristic(client, self.write_uuid)
                if self.notify_uuid is not None:
                    notify_char = self._characteristic(client, self.notify_uuid)
                    await client.start_notify(notify_char, self._on_notify)
        except TimeoutError:
            await self.close()
            raise DeviceOffline(f"{self.url}: no connection within {timeout:.1f}s") from None
        except ProtocolError:
            await self.close()
            raise
        except Exception as exc:
            await self.close()
            if not _is_link_error(exc):
                raise
            raise DeviceOffline(f"{self.url}: cannot connect: {exc}") from None

    def _characteristic(self, client: BleClient, uuid: str) -> Any:
        characteristic = client.services.get_characteristic(expand_uuid(uuid))
        if characteristic is None:
            # Connected, but this is not the device the URL describes (or a different model).
            raise ProtocolError(f"{self.url}: the device has no characteristic {uuid}")
        return characteristic

    async def close(self) -> None:
        client, self._client = self._client, None
        self._write_char = None
        if client is None:
            return
        self._generation += 1
        self._queue.put_nowait(None)
        # A device that went out of range can keep disconnect() waiting; never hang on it.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await client.disconnect()

    def chunk_size(self) -> int:
        """Bytes per write: the link's MTU less the ATT header, 20 when the MTU is unknown."""
        client = self._client
        try:
            mtu = int(client.mtu_size) if client is not None else 0
        except Exception:  # some backends raise before the MTU exchange
            mtu = 0
        if mtu <= ATT_HEADER:
            return DEFAULT_CHUNK
        return max(1, min(mtu - ATT_HEADER, MAX_CHUNK))

    async def write(self, data: bytes, timeout: float) -> None:
        client = self._client
        if client is None or self._lost:
            raise DeviceOffline(f"{self.url}: not connected")
        size = self.chunk_size()
        sent = 0
        try:
            async with asyncio.timeout(timeout):
                for start in range(0, len(data), size):
                    if self._lost:
                        raise DeviceOffline(f"{self.url}: connection lost while writing", sent=sent > 0)
                    await client.write_gatt_char(self._write_char, data[start : start + size], response=False)
                    sent += 1
                    # Writes without response only queue in the OS; yielding lets notifications
                    # (status answers) and a disconnect callback in between the chunks.
                    await asyncio.sleep(0)
        except TimeoutError:
            raise Timeout(f"{self.url}: write not accepted within {timeout:.1f}s", sent=sent > 0) from None
        except DeviceOffline:
            raise
        except Exception as exc:
            if not _is_link_error(exc):
                raise
            raise DeviceOffline(f"{self.url}: connection lost while writing: {exc}", sent=sent > 0) from None

    async def read(self, timeout: float) -> bytes:
        if self._client is None:
            raise DeviceOffline(f"{self.url}: not connected")
        if self._lost and self._queue.empty():
            raise DeviceOffline(f"{self.url}: connection lost")
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout=timeout)
        except TimeoutError:
            if self._lost or not self._client.is_connected:
                raise DeviceOffline(f"{self.url}: connection lost") from None
            raise Timeout(f"{self.url}: no answer within {timeout:.1f}s") from None
        if first is None:
            # The marker stays queued: every other reader (the driver's reader task and a
            # caller's read) must learn of the loss too, not only the first one woken.
            self._queue.put_nowait(None)
            raise DeviceOffline(f"{self.url}: connection lost")
        data = bytearray(first)
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                # Deliver what arrived before the link went; the next read reports the loss.
                self._queue.put_nowait(None)
                break
            data += item
        return bytes(data)
