"""Serial ports: the stable names under ``/dev/serial/by-id`` (and any globs the technician adds).

udev names each USB-serial adapter after its manufacturer, product and serial number
(``usb-Posiflex_PD2800_A1B2-if00-port0``), so the by-id path is an id that survives reboots
and replugs, unlike ``/dev/ttyUSB0``. That name is also all a display or a scanner tells about
itself: neither answers anything.

Active probing (asking ``DLE EOT 1`` and waiting for a valid ESC/POS status byte) writes to the
port, which a device we do not know might act on, so it happens only on ports the technician
lists in ``[discovery] serial_probe``, never on a port a configured device owns, at most once
per plug (the result is kept until the port's target changes), and bounded in time.
"""

from __future__ import annotations

import asyncio
import fnmatch
import glob
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import serial

from drivers.discovery.base import FoundDevice, PollingBackend
from protocols.escpos.status import STATUS_MASK, STATUS_PATTERN

log = logging.getLogger(__name__)

DEFAULT_PATTERNS = ("/dev/serial/by-id/*",)
PROBE_REQUEST = b"\x10\x04\x01"  # DLE EOT 1: printer status; every ESC/POS printer answers it


def _usb_ids(real: str) -> tuple[int | None, int | None, str]:
    """Vendor id, product id and serial of the USB device behind a tty, from sysfs."""
    node = Path("/sys/class/tty") / Path(real).name / "device"
    try:
        current = node.resolve(strict=True)
    except OSError:
        return None, None, ""
    # The tty's device is an interface; the vendor and product files sit a level or two up.
    for candidate in (current, *list(current.parents)[:4]):
        vendor = candidate / "idVendor"
        if vendor.is_file():
            try:
                vid = int(vendor.read_text().strip(), 16)
                pid = int((candidate / "idProduct").read_text().strip(), 16)
                serial_file = candidate / "serial"
                serial_no = serial_file.read_text().strip() if serial_file.is_file() else ""
            except (OSError, ValueError):
                return None, None, ""
            return vid, pid, serial_no
    return None, None, ""


def probe_escpos(path: str, timeout: float, baudrate: int = 9600) -> bool:
    """Ask the device on ``path`` for its ESC/POS status; True when it answers like a printer.

    Runs in a worker thread (pyserial is blocking). The port is opened exclusively so a probe
    can never interleave with another program that has it open.
    """
    try:
        with serial.Serial(
            path, baudrate=baudrate, timeout=timeout, write_timeout=timeout, exclusive=True
        ) as port:
            port.reset_input_buffer()
            port.write(PROBE_REQUEST)
            answer = port.read(1)
    except (OSError, serial.SerialException, ValueError):
        return False
    return len(answer) == 1 and (answer[0] & STATUS_MASK) == STATUS_PATTERN


class SerialDiscovery(PollingBackend):
    """Lists serial ports by stable name; probes the allowed ones for ESC/POS printers.

    ``owned`` returns the real paths (``/dev/ttyUSB0``) of ports configured devices use; such a
    port is listed but never probed.
    """

    bus = "serial"

    def __init__(
        self,
        patterns: Sequence[str] = DEFAULT_PATTERNS,
        *,
        probe: Sequence[str] = (),
        owned: Callable[[], set[str]] = set,
        interval: float = 1.0,
        probe_timeout: float = 0.3,
    ) -> None:
        super().__init__(interval)
        self.patterns = tuple(patterns)
        self.probe_patterns = tuple(probe)
        self.owned = owned
        self.probe_timeout = probe_timeout
        # (link, real path) -> answer; a replug to another tty is probed again.
        self._probed: dict[tuple[str, str], str] = {}

    def _may_probe(self, link: str, real: str) -> bool:
        if real in self.owned():
            return False
        return any(fnmatch.fnmatch(link, pattern) for pattern in self.probe_patterns)

    def _list(self) -> list[tuple[str, str, tuple[int | None, int | None, str]]]:
        """``(link, real path, usb ids)`` of every port present; blocking, run in a thread."""
        ports = []
        for link in sorted({path for pattern in self.patterns for path in glob.glob(pattern)}):
            try:
                real = os.path.realpath(link, strict=True)
            except OSError:
                continue  # a dangling link: the adapter was just pulled
            ports.append((link, real, _usb_ids(real)))
        return ports

    async def scan(self) -> Sequence[FoundDevice]:
        listed = await asyncio.to_thread(self._list)
        ports = [(link, real) for link, real, _ in listed]
        await self._probe_new(ports)
        self._probed = {key: value for key, value in self._probed.items() if key in set(ports)}
        return [self._found(link, real, ids) for link, real, ids in listed]

    async def _probe_new(self, ports: list[tuple[str, str]]) -> None:
        todo = [
            (link, real)
            for link, real in ports
            if (link, real) not in self._probed and self._may_probe(link, real)
        ]
        if not todo:
            return
        # Every port is probed at once, each bounded by probe_timeout, so ten silent ports cost
        # one timeout, not ten.
        answers = await asyncio.gather(
            *(asyncio.to_thread(probe_escpos, link, self.probe_timeout) for link, _ in todo)
        )
        for key, is_printer in zip(todo, answers, strict=True):
            self._probed[key] = "escpos" if is_printer else "silent"
            log.info("serial port probed", extra={"port": key[0], "answer": self._probed[key]})

    def _found(self, link: str, real: str, ids: tuple[int | None, int | None, str]) -> FoundDevice:
        vid, pid, serial_no = ids
        properties = {"path": real}
        if (answer := self._probed.get((link, real))) is not None:
            properties["probe"] = answer
        return FoundDevice(
            id=f"serial:{link}",
            bus="serial",
            url=f"serial://{link}",
            name=Path(link).name,
            vendor_id=vid,
            product_id=pid,
            serial=serial_no,
            properties=properties,
        )
