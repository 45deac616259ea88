"""Customer line displays (pole displays) over a serial port: Epson DM-D and CD5220.

Both families only listen. They send no status and answer no query, so the driver cannot
tell a working display from one whose cable was pulled at the display end; all it knows is
whether the port is open. ``health`` says exactly that.

A redraw makes a VFD flicker, and the hub may ask to show the same total many times as a
cart is edited, so ``show`` sends nothing when the bytes it would send are the ones sent last.
After a failed write what the glass shows is unknown, and the next ``show`` always sends.

Recognising a display (``supports``)
------------------------------------
Since a display answers nothing, it cannot be probed: the only clue is its name. On Linux
that is the ``/dev/serial/by-id`` link, which udev builds from the USB descriptors
(manufacturer, product, serial number) of whatever sits on the USB side: the display itself
when it has a USB-serial chip inside, otherwise the RS-232 adapter. Fragments recognised,
case-insensitive, with ``-``, ``_`` or a space between the parts:

- ``DM-D`` followed by a model number (DM-D110, DM-D210, DM-D500): Epson DM-D, driver ``dmd``.
- ``CD5220``, ``VFD``, ``Customer_Display``, ``Pole_Display``, ``Line_Display``, ``PD2800``:
  driver ``cd5220``. Unbranded VFD pole displays, and the Posiflex PD-2800 family, ship with
  the CD5220 command set as their default emulation.

Each scores 10. A name with a DM-D model wins for ``dmd`` even when it also says ``VFD``.
Short fragments must start a word, so a serial number such as ``A7VFD2`` is not taken for a
display. A display behind a generic adapter ("Prolific USB-Serial Controller", "FTDI FT232R")
is not recognised: it is listed as unsupported and is configured by hand.
"""

from __future__ import annotations

import contextlib
import re
from typing import Annotated

import msgspec

from drivers.base import DeviceHealth, DisplayDriver
from drivers.discovery.base import FoundDevice
from drivers.errors import DeviceError, DeviceOffline
from drivers.transports.base import Transport
from protocols.display import Cd5220Encoder, DmdEncoder, LineEncoder

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

_DMD = re.compile(r"(?<![a-z0-9])dm[-_ ]?d\d")
_CD5220 = re.compile(r"(?<![a-z0-9])(?:cd[-_ ]?5220|vfd|pd[-_ ]?2800)|(?:customer|pole|line)[-_ ]?display")

# Displays send nothing back, so this is what "online" can mean for them.
_HEALTH_DETAIL = "port open; line displays send no status, so the display itself is not checked"


def _names(found: FoundDevice) -> str | None:
    """The text a serial device is known by (by-id path, URL, name), lower-case; None off serial."""
    if found.bus != "serial":
        return None
    return " ".join((found.id, found.url, found.name)).lower()


class LineDisplayOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a line display in the config.

    ``brightness`` (1..4) is sent after every connect when set; unset leaves the display's own
    setting. ``idle_text`` is what the hub shows when no sale is in progress, and
    ``poll_interval`` how often the device manager runs ``health``.
    """

    columns: Annotated[int, msgspec.Meta(ge=1, le=40)] = 20
    rows: Annotated[int, msgspec.Meta(ge=1, le=4)] = 2
    brightness: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None
    connect_timeout: Seconds = 3.0
    write_timeout: Seconds = 2.0
    idle_text: str = "Welcome"
    poll_interval: Seconds = 5.0


class Cd5220Options(LineDisplayOptions, forbid_unknown_fields=True, kw_only=True):
    """Options of a CD5220 display: as for any line display, but at most two rows.

    The command set addresses an upper and a lower line and nothing else.
    """

    rows: Annotated[int, msgspec.Meta(ge=1, le=2)] = 2


class _LineDisplay(DisplayDriver):
    """What DM-D and CD5220 displays share: connect, redraw only on change, write, health."""

    options: LineDisplayOptions
    _encoder: LineEncoder

    def __init__(self, device_id: str, transport: Transport, options: LineDisplayOptions) -> None:
        super().__init__(device_id, transport, options)
        # The bytes of the last frame that reached the port; None when unknown.
        self._shown: bytes | None = None

    @property
    def size(self) -> tuple[int, int]:
        return (self.options.columns, self.options.rows)

    async def connect(self) -> None:
        self._shown = None
        await self.transport.open(self.options.connect_timeout)
        encoder = self._encoder
        setup = encoder.init()
        if self.options.brightness is not None:
            setup += encoder.brightness(self.options.brightness)
        await self._send(setup + encoder.clear())
        self._shown = self._blank()

    async def close(self) -> None:
        self._shown = None
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        if not self.transport.is_open:
            raise DeviceOffline(f"{self.device_id}: display port is not open")
        return DeviceHealth(state="online", detail=_HEALTH_DETAIL)

    async def show(self, lines: tuple[str, ...]) -> None:
        frame = self._encoder.show(lines)
        if frame == self._shown:
            return
        await self._send(frame)
        self._shown = frame

    async def clear(self) -> None:
        await self._send(self._encoder.clear())
        # A blank display is what showing empty lines would give, so that is not redrawn.
        self._shown = self._blank()

    def _blank(self) -> bytes:
        return self._encoder.show(())

    async def _send(self, data: bytes) -> None:
        # pyserial-asyncio silently drops writes on a port that has gone away, so the open
        # state is checked first: an unplugged display must be reported, not written into.
        if not self.transport.is_open:
            self._shown = None
            raise DeviceOffline(f"{self.device_id}: display port is not open")
        try:
            await self.transport.write(data, self.options.write_timeout)
        except DeviceError:
            self._shown = None
            raise


class EpsonDmdDisplay(_LineDisplay):
    """An Epson DM-D (or DM-D compatible) customer display on its own serial port.

    Each row is rewritten in place with a cursor command, so the result does not depend on
    the display's scroll mode.
    """

    name = "dmd"
    Options = LineDisplayOptions

    def __init__(self, device_id: str, transport: Transport, options: LineDisplayOptions) -> None:
        super().__init__(device_id, transport, options)
        self._encoder = DmdEncoder(columns=options.columns, rows=options.rows)

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        names = _names(found)
        return 10 if names is not None and _DMD.search(names) else 0


class Cd5220Display(_LineDisplay):
    """A CD5220-command-set pole display (most unbranded 20x2 VFDs), usually 9600 8N1."""

    name = "cd5220"
    Options = Cd5220Options

    def __init__(self, device_id: str, transport: Transport, options: LineDisplayOptions) -> None:
        super().__init__(device_id, transport, options)
        self._encoder = Cd5220Encoder(columns=options.columns, rows=options.rows)

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        names = _names(found)
        if names is None or _DMD.search(names):
            # An Epson model number is the more specific clue: leave it to the DM-D driver.
            return 0
        return 10 if _CD5220.search(names) else 0
