"""USB transport through pyusb: bulk OUT for data, bulk IN for the device's answers.

``usb://04b8:0e15?serial=X`` picks a device by vendor, product and serial number;
``usb://0416:5011?port=1-1.4`` by bus and port path, for the many POS printers without a serial
number; with neither, the first device with that vendor and product is used.

pyusb is blocking, so every pyusb call of a transport runs in the transport's own single worker
thread and is awaited from the event loop. One thread per device keeps libusb's handle confined
to one thread and keeps a printer that stopped answering from stalling any other device. Because
reads and writes share that thread, no pyusb call may hold it for long: bulk reads and writes are
issued in slices of at most :data:`IO_SLICE` seconds and repeated from async code until the
caller's timeout, so the ESC/POS reader's ``read(timeout=3600)`` never keeps a receipt waiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import errno
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import usb.core
import usb.util

from drivers.errors import DeviceError, DeviceOffline, ProtocolError, Timeout, UnsupportedTransport
from drivers.transports.base import Transport, TransportUrl

log = logging.getLogger(__name__)

PRINTER_CLASS = 7
# The longest one pyusb call may hold the worker thread: a write waits at most this long for a
# read slice in progress, and status answers arrive within one slice of being sent.
IO_SLICE = 0.2
# Bulk transfers move this many bytes per call (rounded down to whole packets): large enough to
# keep a USB 2.0 printer busy, small enough that a slice seldom times out with bytes pending.
TRANSFER_SIZE = 4096
# errno values libusb maps "the device is gone" to (NO_DEVICE, NOT_FOUND, IO, PIPE).
GONE_ERRNOS = frozenset({errno.ENODEV, errno.ENOENT, errno.EIO, errno.EPIPE})
NO_BACKEND = "no USB backend: libusb-1.0 is not installed (Debian: apt install libusb-1.0-0)"

T = TypeVar("T")


def parse_port_path(text: str) -> tuple[int, tuple[int, ...]]:
    """``"1-1.4"`` -> ``(1, (1, 4))``: a bus number and the hub ports down to the device."""
    try:
        bus, ports = text.split("-")
        return int(bus), tuple(int(port) for port in ports.split("."))
    except ValueError:
        raise UnsupportedTransport(f"bad USB port path {text!r}; expected bus-ports, like 1-1.4") from None


def format_port_path(bus: int, ports: tuple[int, ...]) -> str:
    """The inverse of :func:`parse_port_path`."""
    return f"{bus}-{'.'.join(str(port) for port in ports)}"


def bulk_size(max_packet: int) -> int:
    """A transfer size of whole packets, so a bulk IN never overflows mid-packet."""
    packet = max(int(max_packet), 1)
    return max(packet, TRANSFER_SIZE // packet * packet)


@dataclasses.dataclass(frozen=True, slots=True)
class UsbSelector:
    """Which device a ``usb://`` URL means."""

    vendor_id: int
    product_id: int
    serial: str | None = None
    bus: int | None = None
    ports: tuple[int, ...] | None = None

    @classmethod
    def from_url(cls, url: TransportUrl) -> UsbSelector:
        ids = url.host.split(":")
        if url.path not in ("", "/") or len(ids) != 2 or not all(len(part) == 4 for part in ids):
            raise UnsupportedTransport(f"{url}: expected usb://VVVV:PPPP with hex vendor and product ids")
        unknown = set(url.query) - {"serial", "port"}
        if unknown:
            raise UnsupportedTransport(f"{url}: unknown USB option(s) {', '.join(sorted(unknown))}")
        try:
            vendor_id, product_id = int(ids[0], 16), int(ids[1], 16)
        except ValueError:
            raise UnsupportedTransport(f"{url}: vendor and product ids must be hexadecimal") from None
        bus, ports = parse_port_path(url.query["port"]) if "port" in url.query else (None, None)
        return cls(vendor_id, product_id, url.query.get("serial") or None, bus, ports)

    def describe(self) -> str:
        what = f"{self.vendor_id:04x}:{self.product_id:04x}"
        if self.serial is not None:
            what += f" with serial {self.serial!r}"
        if self.bus is not None and self.ports is not None:
            what += f" on port {format_port_path(self.bus, self.ports)}"
        return what

    def matches(self, device: Any) -> bool:
        """pyusb ``custom_match``: vendor and product are matched by ``find`` before this runs."""
        if self.bus is not None and (device.bus, tuple(device.port_numbers or ())) != (self.bus, self.ports):
            return False
        if self.serial is None:
            return True
        try:
            return bool(device.serial_number == self.serial)
        except (usb.core.USBError, ValueError, NotImplementedError):
            # Unreadable strings (no permission, a flaky device): not provably ours.
            return False
        finally:
            # Reading the serial opened a handle; a device that is not ours must not keep it.
            usb.util.dispose_resources(device)


@dataclasses.dataclass(frozen=True, slots=True)
class _Link:
    """An opened, claimed device; ``device`` is only used in the transport's worker thread."""

    device: Any
    interface: int
    ep_out: int
    out_size: int
    ep_in: int | None
    in_size: int


def _pick_interface(config: Any) -> Any:
    """The printer-class interface, else the first with a bulk OUT endpoint, else None."""
    candidates = [intf for intf in config if _endpoint(intf, usb.util.ENDPOINT_OUT) is not None]
    printers = [intf for intf in candidates if intf.bInterfaceClass == PRINTER_CLASS]
    return (printers or candidates or [None])[0]


def _endpoint(interface: Any, direction: int) -> Any:
    """The interface's first bulk endpoint in ``direction`` (``usb.util.ENDPOINT_IN/OUT``), or None."""
    return usb.util.find_descriptor(
        interface,
        custom_match=lambda ep: (
            usb.util.endpoint_direction(ep.bEndpointAddress) == direction
            and usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
        ),
    )


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class UsbTransport(Transport):
    """A USB device's bulk endpoints as a byte stream."""

    def __init__(self, url: TransportUrl, backend: Any = None) -> None:
        self.url = url
        self.selector = UsbSelector.from_url(url)
        self._backend = backend
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._link: _Link | None = None
        # Set while no write is in progress: reads wait on it, so a burst of write slices is not
        # interleaved with read slices that would each hold the thread for IO_SLICE.
        self._reads_may_run = asyncio.Event()
        self._write_lock = asyncio.Lock()
        # Bytes a cancelled read had already taken off the device; the next read returns them.
        self._pending = bytearray()

    @property
    def is_open(self) -> bool:
        return self._link is not None

    # -- opening and closing --------------------------------------------------------------
    async def open(self, timeout: float) -> None:
        if self._link is not None:
            return
        name = f"usb-{self.selector.vendor_id:04x}:{self.selector.product_id:04x}"
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        opening = executor.submit(self._open_sync)
        try:
            link = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(opening)), timeout)
        except BaseException as exc:
            # A failed open left nothing behind. A timed-out or cancelled one is still running in
            # the thread (libusb cannot be interrupted): it is undone there once it finishes.
            executor.submit(_abandon, opening)
            executor.shutdown(wait=False)
            if isinstance(exc, TimeoutError):
                raise DeviceOffline(f"{self.url}: device did not open within {timeout:.1f}s") from None
            raise
        self._executor, self._link = executor, link
        self._reads_may_run = asyncio.Event()
        self._reads_may_run.set()
        self._write_lock = asyncio.Lock()
        self._pending.clear()
        log.debug("usb device opened", extra={"url": str(self.url), "interface": link.interface})

    def _open_sync(self) -> _Link:
        s = self.selector
        try:
            device = usb.core.find(
                backend=self._backend, idVendor=s.vendor_id, idProduct=s.product_id, custom_match=s.matches
            )
        except usb.core.NoBackendError:
            raise DeviceOffline(f"{self.url}: {NO_BACKEND}") from None
        except usb.core.USBError as exc:
            raise self._error("listing USB devices", exc, sent=False) from None
        if device is None:
            raise DeviceOffline(f"{self.url}: no USB device {s.describe()} is attached")
        try:
            return self._claim(device)
        except usb.core.USBError as exc:
            usb.util.dispose_resources(device)
            raise self._error("opening the device", exc, sent=False) from None
        except BaseException:
            usb.util.dispose_resources(device)
            raise

    def _claim(self, device: Any) -> _Link:
        try:
            config = device.get_active_configuration()
        except usb.core.USBError as exc:
            if exc.errno in GONE_ERRNOS:
                raise
            device.set_configuration()  # unconfigured (no kernel driver ever bound to it)
            config = device.get_active_configuration()
        interface = _pick_interface(config)
        if interface is None:
            raise ProtocolError(f"{self.url}: the device has no interface with a bulk OUT endpoint")
        number = interface.bInterfaceNumber
        try:
            # usblp (or another kernel driver) owns printer interfaces until told to let go.
            if device.is_kernel_driver_active(number):
                device.detach_kernel_driver(number)
        except NotImplementedError:
            pass  # macOS, Windows: no kernel drivers to detach
        usb.util.claim_interface(device, number)
        if interface.bAlternateSetting:
            device.set_interface_altsetting(number, interface.bAlternateSetting)
        out = _endpoint(interface, usb.util.ENDPOINT_OUT)
        inp = _endpoint(interface, usb.util.ENDPOINT_IN)
        ep_in = None if inp is None else inp.bEndpointAddress
        in_size = 0 if inp is None else bulk_size(inp.wMaxPacketSize)
        link = _Link(device, number, out.bEndpointAddress, bulk_size(out.wMaxPacketSize), ep_in, in_size)
        _drain(link)
        return link

    async def close(self) -> None:
        link, self._link = self._link, None
        executor, self._executor = self._executor, None
        self._pending.clear()
        self._reads_may_run.set()  # waiting readers wake up and find the link closed
        if executor is None:
            return
        if link is not None:
            # Queued behind whatever slice is running, so at most IO_SLICE plus the release.
            releasing = asyncio.wrap_future(executor.submit(_release, link))
            try:
                await asyncio.wait_for(asyncio.shield(releasing), timeout=2.0)
            except TimeoutError:
                log.warning("usb device did not release in time", extra={"url": str(self.url)})
        executor.shutdown(wait=False)

    # -- I/O ------------------------------------------------------------------------------
    def _current(self) -> tuple[_Link, concurrent.futures.ThreadPoolExecutor]:
        link, executor = self._link, self._executor
        if link is None or executor is None:
            raise DeviceOffline(f"{self.url}: not connected")
        return link, executor

    def _submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        _, executor = self._current()
        try:
            return executor.submit(fn, *args)
        except RuntimeError:  # shut down by close() while we were on our way here
            raise DeviceOffline(f"{self.url}: not connected") from None

    async def write(self, data: bytes, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._write_lock:
            link, _ = self._current()
            self._reads_may_run.clear()
            try:
                done = 0
                while done < len(data):
                    if self._link is not link:
                        raise DeviceOffline(f"{self.url}: closed while writing", sent=True)
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise Timeout(f"{self.url}: write not accepted within {timeout:.1f}s", sent=True)
                    chunk = data[done : done + link.out_size]
                    try:
                        future = self._submit(self._write_sync, link, chunk, _ms(min(remaining, IO_SLICE)))
                    except DeviceOffline as exc:
                        raise DeviceOffline(str(exc), sent=True) from None
                    written = await asyncio.wrap_future(future)
                    done += written
                    if not written:
                        # The device is not taking data (buffer full, paused): let one read
                        # slice through, so its answers are still collected meanwhile.
                        self._reads_may_run.set()
                        await asyncio.sleep(0)
                        self._reads_may_run.clear()
            finally:
                self._reads_may_run.set()

    def _write_sync(self, link: _Link, chunk: bytes, timeout_ms: int) -> int:
        try:
            return int(link.device.write(link.ep_out, chunk, timeout_ms))
        except usb.core.USBTimeoutError:
            return 0  # nothing went out in this slice; write() retries until its deadline
        except usb.core.USBError as exc:
            # Bulk OUT may have moved part of the chunk before failing: it may be on paper.
            raise self._error("writing", exc, sent=True) from None

    async def read(self, timeout: float) -> bytes:
        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            return data
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        link, _ = self._current()
        if link.ep_in is None:
            # A write-only device never answers; wait as asked so callers' loops don't spin.
            await asyncio.sleep(timeout)
            self._current()
            raise Timeout(f"{self.url}: the device has no IN endpoint")
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._reads_may_run.wait()
            except TimeoutError:
                raise Timeout(f"{self.url}: no answer within {timeout:.1f}s") from None
            if self._link is not link:
                raise DeviceOffline(f"{self.url}: not connected")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Timeout(f"{self.url}: no answer within {timeout:.1f}s")
            reading = asyncio.wrap_future(self._submit(self._read_sync, link, _ms(min(remaining, IO_SLICE))))
            try:
                data = await asyncio.shield(reading)
            except asyncio.CancelledError:
                reading.add_done_callback(lambda done: self._keep(link, done))
                raise
            if data:
                return data

    def _keep(self, link: _Link, done: asyncio.Future[bytes]) -> None:
        """Keep what a cancelled read took off the device, for the next read of this link."""
        if not done.cancelled() and done.exception() is None and self._link is link:
            self._pending += done.result()

    def _read_sync(self, link: _Link, timeout_ms: int) -> bytes:
        try:
            return bytes(link.device.read(link.ep_in, link.in_size, timeout_ms))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise self._error("reading", exc, sent=False) from None

    def _error(self, what: str, exc: usb.core.USBError, *, sent: bool) -> DeviceError:
        """The typed error for a pyusb failure."""
        if isinstance(exc, usb.core.USBTimeoutError):
            return Timeout(f"{self.url}: {what} timed out", sent=sent)
        if exc.errno in GONE_ERRNOS:
            return DeviceOffline(f"{self.url}: device unplugged or gone ({what}: {exc})", sent=sent)
        if exc.errno == errno.EACCES:
            return DeviceOffline(
                f"{self.url}: permission denied {what} (is the udev rule installed?)", sent=sent
            )
        if exc.errno == errno.EBUSY:
            return DeviceOffline(f"{self.url}: the device is claimed by another program", sent=sent)
        return DeviceOffline(f"{self.url}: USB error {what}: {exc}", sent=sent)


def _drain(link: _Link) -> None:
    """Drop answers left on the IN endpoint by an earlier session.

    A TCP printer starts every connection clean; a USB printer keeps unread status bytes, which
    the driver would take as answers to its first questions.
    """
    if link.ep_in is None:
        return
    with contextlib.suppress(usb.core.USBTimeoutError):
        for _ in range(64):  # bounded: a device that never stops talking still opens
            if not link.device.read(link.ep_in, link.in_size, 10):
                return


def _release(link: _Link) -> None:
    """Give the interface back and close the handle; errors mean the device is gone anyway."""
    with contextlib.suppress(usb.core.USBError):
        usb.util.release_interface(link.device, link.interface)
    usb.util.dispose_resources(link.device)


def _abandon(opening: concurrent.futures.Future[_Link]) -> None:
    """Undo an open whose caller stopped waiting (runs after it, in the same thread)."""
    if opening.exception() is None:
        _release(opening.result())
