"""A pyusb backend whose printers are real: bulk OUT goes to a ``smartpos-sim printer`` process.

pyusb takes any ``usb.backend.IBackend``, so the code under test runs its real pyusb paths (find,
descriptors, string descriptors over control transfers, claiming, bulk transfers) against devices
that fail the way libusb1's backend reports it. Each plugged printer holds a TCP connection to
its simulator, its firmware: bulk OUT bytes go there and the answers come back on bulk IN. A
transfer that moves nothing in time raises ``USBTimeoutError``; one that moved some bytes returns
their count. usblp is bound to every interface after a plug (claiming fails with EBUSY until it is
detached). ``unplug`` removes the device from enumeration and fails every call on its handles
with ENODEV; ``plug`` brings it back at a new address, as a replug does.
"""

from __future__ import annotations

import array
import contextlib
import errno
import itertools
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

import usb.backend
import usb.core
from usb.backend import libusb1

BULK, INTERRUPT = 2, 3
T = TypeVar("T")
LANGID_EN_US = 0x0409


@dataclass(frozen=True)
class FakeEndpoint:
    address: int
    attributes: int = BULK
    max_packet: int = 64


@dataclass(frozen=True)
class FakeInterface:
    number: int
    cls: int
    endpoints: tuple[FakeEndpoint, ...]
    subclass: int = 0
    protocol: int = 0


# A bidirectional USB printer interface (class 7, subclass 1, protocol 2) at high speed.
PRINTER_INTERFACE = FakeInterface(0, 7, (FakeEndpoint(0x01, BULK, 512), FakeEndpoint(0x81, BULK, 512)), 1, 2)
# Many cheap POS printers present a vendor-specific interface instead of the printer class.
VENDOR_INTERFACE = FakeInterface(0, 0xFF, (FakeEndpoint(0x02), FakeEndpoint(0x82)))
# A boot keyboard: one interrupt IN endpoint.
KEYBOARD_INTERFACE = FakeInterface(0, 3, (FakeEndpoint(0x81, INTERRUPT, 8),), 1, 1)


@dataclass(eq=False)
class FakeUsbDevice:
    """A device that can be plugged into a :class:`FakeUsbBackend`.

    ``printer_port`` is the data port of the simulator that plays the printer; without it the
    device has no firmware behind its endpoints (a keyboard). ``permission_denied`` makes
    opening it fail with EACCES, as on a box without the udev rule.
    """

    vendor_id: int
    product_id: int
    _: KW_ONLY
    bus: int = 1
    ports: tuple[int, ...] = (1,)
    serial: str | None = None
    manufacturer: str = ""
    product: str = ""
    device_class: int = 0
    interfaces: tuple[FakeInterface, ...] = (PRINTER_INTERFACE,)
    printer_port: int | None = None
    permission_denied: bool = False

    @property
    def strings(self) -> dict[int, str]:
        texts = (self.manufacturer, self.product, self.serial or "")
        return {index: text for index, text in enumerate(texts, start=1) if text}

    def string_index(self, what: str) -> int:
        index = ("manufacturer", "product", "serial").index(what) + 1
        return index if index in self.strings else 0


# The failures the fake reports, each with the libusb code and errno libusb1's backend gives it.
_FAILURES = {
    "gone": ("No such device (it may have been disconnected)", libusb1.LIBUSB_ERROR_NO_DEVICE, errno.ENODEV),
    "access": ("Access denied (insufficient permissions)", libusb1.LIBUSB_ERROR_ACCESS, errno.EACCES),
    "busy": ("Resource busy", libusb1.LIBUSB_ERROR_BUSY, errno.EBUSY),
    "not_found": ("Entity not found", libusb1.LIBUSB_ERROR_NOT_FOUND, errno.ENOENT),
    "pipe": ("Pipe error", libusb1.LIBUSB_ERROR_PIPE, errno.EPIPE),
    "io": ("Input/Output Error", libusb1.LIBUSB_ERROR_IO, errno.EIO),
    "timeout": ("Operation timed out", libusb1.LIBUSB_ERROR_TIMEOUT, errno.ETIMEDOUT),
}


def _fail(kind: str) -> usb.core.USBError:
    message, code, err = _FAILURES[kind]
    # pyusb's own libusb1 backend raises the timeout subclass for LIBUSB_ERROR_TIMEOUT.
    return (usb.core.USBTimeoutError if kind == "timeout" else usb.core.USBError)(message, code, err)


class _BridgeClosed(Exception):
    """The connection to the simulator ended (unplugged, or the simulator stopped)."""


class _Bridge:
    """The cable to the printer's firmware: a TCP connection to its simulator."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._sock.settimeout(None)
        # A USB printer NAKs bulk OUT once its few-KiB buffer is full; without this, loopback
        # TCP would soak up megabytes and a write would never feel a stalled printer.
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        self._inbox = bytearray()
        self._cond = threading.Condition()
        self._connected = True
        self._thread = threading.Thread(target=self._pump, name=f"fake-usb-{port}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        # The printer's transmit side: answers wait in the device until the host reads bulk IN.
        data = b"-"
        while data:
            try:
                data = self._sock.recv(4096)
            except OSError:
                data = b""
            with self._cond:
                self._inbox += data
                self._connected = bool(data)
                self._cond.notify_all()

    def send(self, data: bytes, timeout: float | None) -> int:
        """Bytes the printer took within ``timeout`` (it stops taking them when its buffer is full)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        sent = 0
        while sent < len(data):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            try:
                _, writable, _ = select.select([], [self._sock], [], remaining)
                if writable:
                    sent += self._sock.send(data[sent:], socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except (OSError, ValueError):
                raise _BridgeClosed from None
        return sent

    def receive(self, size: int, timeout: float | None) -> bytes:
        """Up to ``size`` answer bytes, waiting at most ``timeout``; b"" when none came."""
        with self._cond:
            self._cond.wait_for(lambda: self._inbox or not self._connected, timeout)
            if not self._inbox and not self._connected:
                raise _BridgeClosed
            data = bytes(self._inbox[:size])
            del self._inbox[:size]
            return data

    def shutdown(self) -> None:
        """Pull the cable: the simulator sees the connection end, blocked calls wake up."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.shutdown()
        self._thread.join(5)
        self._sock.close()


class _Attachment:
    """One plugging-in of a device: what libusb's ``libusb_device`` is for one enumeration."""

    def __init__(self, device: FakeUsbDevice, address: int) -> None:
        self.device = device
        self.address = address
        self.alive = True
        self.configuration = 1  # the kernel configured it on plug
        self.kernel_driver = {interface.number for interface in device.interfaces}
        self.claimed: dict[int, _Handle] = {}
        self.handles = 0
        self.bridge = None if device.printer_port is None else _Bridge(device.printer_port)


@dataclass(eq=False)
class _Handle:
    attachment: _Attachment
    closed: bool = False


class FakeUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """A USB bus with plug and unplug, implementing the calls pyusb makes of a backend."""

    def __init__(self, devices: Sequence[FakeUsbDevice] = ()) -> None:
        self._lock = threading.RLock()
        self._addresses = itertools.count(2)
        self._plugged: dict[FakeUsbDevice, _Attachment] = {}
        self._retired: list[_Attachment] = []
        for device in devices:
            self.plug(device)

    # -- the test's side ------------------------------------------------------------------
    def plug(self, device: FakeUsbDevice) -> None:
        attachment = _Attachment(device, next(self._addresses))
        with self._lock:
            assert device not in self._plugged, "already plugged in"
            self._plugged[device] = attachment

    def unplug(self, device: FakeUsbDevice) -> None:
        with self._lock:
            attachment = self._plugged.pop(device)
            attachment.alive = False
            self._retired.append(attachment)
        if attachment.bridge is not None:
            attachment.bridge.shutdown()

    def state(self, device: FakeUsbDevice) -> dict[str, Any]:
        """What the host holds of a plugged device: open handles, claims, kernel driver."""
        with self._lock:
            at = self._plugged[device]
            return {
                "handles": at.handles,
                "claimed": sorted(at.claimed),
                "kernel_driver": sorted(at.kernel_driver),
            }

    def close(self) -> None:
        with self._lock:
            for device in list(self._plugged):
                self.unplug(device)
            retired, self._retired = self._retired, []
        for attachment in retired:
            if attachment.bridge is not None:
                attachment.bridge.close()

    # -- checks shared by the calls -------------------------------------------------------
    def _live(self, handle: _Handle) -> _Attachment:
        if handle.closed or not handle.attachment.alive:
            raise _fail("gone")
        return handle.attachment

    def _endpoint(self, handle: _Handle, ep: int, intf: int) -> _Bridge:
        attachment = self._live(handle)
        if attachment.claimed.get(intf) is not handle:
            raise _fail("not_found")
        interface = attachment.device.interfaces[intf]
        if ep not in {endpoint.address for endpoint in interface.endpoints} or attachment.bridge is None:
            raise _fail("pipe")
        return attachment.bridge

    # -- IBackend: enumeration and descriptors --------------------------------------------
    def enumerate_devices(self) -> list[_Attachment]:
        with self._lock:
            return list(self._plugged.values())

    # Descriptors carry every field pyusb copies from them; the tables keep each one readable.
    # fmt: off
    def get_device_descriptor(self, dev: _Attachment) -> SimpleNamespace:
        d = dev.device
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=d.device_class, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=d.vendor_id, idProduct=d.product_id,
            bcdDevice=0x0100, iManufacturer=d.string_index("manufacturer"), iProduct=d.string_index("product"),
            iSerialNumber=d.string_index("serial"), bNumConfigurations=1, address=dev.address, bus=d.bus,
            port_number=d.ports[-1], port_numbers=d.ports, speed=3,  # high speed
        )

    def get_configuration_descriptor(self, dev: _Attachment, config: int) -> SimpleNamespace:
        if config != 0:
            raise IndexError("Invalid configuration index")
        interfaces = dev.device.interfaces
        return SimpleNamespace(
            bLength=9, bDescriptorType=2, wTotalLength=9 + sum(9 + 7 * len(i.endpoints) for i in interfaces),
            bNumInterfaces=len(interfaces), bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0,
            bMaxPower=50, extra_descriptors=[],
        )

    def get_interface_descriptor(self, dev: _Attachment, intf: int, alt: int, config: int) -> SimpleNamespace:
        # pyusb finds the number of alternate settings by asking until IndexError.
        if config != 0 or alt != 0 or not 0 <= intf < len(dev.device.interfaces):
            raise IndexError("Invalid interface or alternate setting index")
        i = dev.device.interfaces[intf]
        return SimpleNamespace(
            bLength=9, bDescriptorType=4, bInterfaceNumber=i.number, bAlternateSetting=0,
            bNumEndpoints=len(i.endpoints), bInterfaceClass=i.cls, bInterfaceSubClass=i.subclass,
            bInterfaceProtocol=i.protocol, iInterface=0, extra_descriptors=[],
        )

    def get_endpoint_descriptor(self, dev: _Attachment, ep: int, intf: int, alt: int, config: int) -> SimpleNamespace:
        e = dev.device.interfaces[intf].endpoints[ep]
        return SimpleNamespace(
            bLength=7, bDescriptorType=5, bEndpointAddress=e.address, bmAttributes=e.attributes,
            wMaxPacketSize=e.max_packet, bInterval=0 if e.attributes == BULK else 10, bRefresh=0,
            bSynchAddress=0, extra_descriptors=[],
        )
    # fmt: on

    # -- IBackend: handles, configuration, interfaces -------------------------------------
    def open_device(self, dev: _Attachment) -> _Handle:
        with self._lock:
            if not dev.alive:
                raise _fail("gone")
            if dev.device.permission_denied:
                raise _fail("access")
            dev.handles += 1
            return _Handle(dev)

    def close_device(self, dev_handle: _Handle) -> None:
        with self._lock:
            if dev_handle.closed:
                return
            dev_handle.closed = True
            attachment = dev_handle.attachment
            attachment.handles -= 1
            attachment.claimed = {n: h for n, h in attachment.claimed.items() if h is not dev_handle}

    def get_configuration(self, dev_handle: _Handle) -> int:
        with self._lock:
            return self._live(dev_handle).configuration

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        with self._lock:
            attachment = self._live(dev_handle)
            holder = attachment.claimed.get(intf)
            if intf in attachment.kernel_driver or (holder is not None and holder is not dev_handle):
                raise _fail("busy")
            attachment.claimed[intf] = dev_handle

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        with self._lock:
            attachment = self._live(dev_handle)
            if attachment.claimed.get(intf) is not dev_handle:
                raise _fail("not_found")
            del attachment.claimed[intf]

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        with self._lock:
            return intf in self._live(dev_handle).kernel_driver

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        with self._lock:
            attachment = self._live(dev_handle)
            if intf not in attachment.kernel_driver:
                raise _fail("not_found")
            attachment.kernel_driver.discard(intf)

    # -- IBackend: transfers --------------------------------------------------------------
    def _transfer(self, handle: _Handle, ep: int, intf: int, move: Callable[[_Bridge], T]) -> T:
        """Run ``move`` on the device's cable with libusb's failures: gone, I/O error, timeout."""
        with self._lock:
            bridge = self._endpoint(handle, ep, intf)
        try:
            moved = move(bridge)
        except _BridgeClosed:
            raise _fail("gone" if not handle.attachment.alive else "io") from None
        if not handle.attachment.alive:
            raise _fail("gone")  # pulled during the transfer: libusb reports no count
        if not moved:
            raise _fail("timeout")
        return moved

    def bulk_write(self, handle: _Handle, ep: int, intf: int, data: array.array[int], timeout: int) -> int:
        # libusb: a timeout of 0 means wait forever.
        return self._transfer(handle, ep, intf, lambda b: b.send(data.tobytes(), timeout / 1000 or None))

    def bulk_read(self, handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int) -> int:
        data = self._transfer(handle, ep, intf, lambda b: b.receive(len(buff), timeout / 1000 or None))
        buff[: len(data)] = array.array("B", data)
        return len(data)

    def ctrl_transfer(
        self, handle: _Handle, rtype: int, req: int, value: int, index: int, data: array.array[int], _tmo: int
    ) -> int:
        """Standard GET_DESCRIPTOR for strings (the langid table and UTF-16LE strings) only."""
        with self._lock:
            attachment = self._live(handle)
        kind, number = value >> 8, value & 0xFF
        if rtype != 0x80 or req != 0x06 or kind != 0x03:
            raise _fail("pipe")  # a request this device does not support: it stalls
        if number == 0:
            payload = bytes([4, 3]) + LANGID_EN_US.to_bytes(2, "little")
        elif number in attachment.device.strings and index == LANGID_EN_US:
            text = attachment.device.strings[number].encode("utf-16-le")
            payload = bytes([2 + len(text), 3]) + text
        else:
            raise _fail("pipe")
        size = min(len(payload), len(data))
        data[:size] = array.array("B", payload[:size])
        return size
