"""Driver base classes, one per device family, in the style of bleak's backend-per-platform.

A driver owns one transport and speaks one protocol. It implements ``connect``, ``close``,
``health`` and the operations of its kind, and raises the typed errors of
:mod:`drivers.errors`. It never retries or reconnects on its own: that policy belongs to the
hub's device manager, which runs exactly one task per device.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal

import msgspec

from drivers.transports.base import Transport


class DeviceHealth(msgspec.Struct, frozen=True, kw_only=True):
    """What a device reports about itself: ``online``, ``offline`` or ``error``.

    ``conditions`` are short machine-readable words such as ``paper_near_end`` (still online),
    ``paper_out`` or ``cover_open`` (error: work is held until they clear).
    """

    state: Literal["online", "offline", "error"]
    conditions: tuple[str, ...] = ()
    detail: str = ""


OFFLINE = DeviceHealth(state="offline", detail="not connected")

HealthCallback = Callable[[DeviceHealth], Awaitable[None]]


class DeviceDriver(abc.ABC):
    """Base class of every driver.

    Subclasses declare ``kind`` (the device kind they serve), ``name`` (the ``driver`` value in
    the config) and ``Options`` (a msgspec Struct validating the device's ``options`` table).
    """

    kind: ClassVar[str]
    name: ClassVar[str]
    Options: ClassVar[type[msgspec.Struct]]

    def __init__(self, device_id: str, transport: Transport, options: Any) -> None:
        self.device_id = device_id
        self.transport = transport
        self.options = options

    @classmethod
    def parse_options(cls, raw: dict[str, Any]) -> Any:
        """Validate the config's ``options`` table; raises ``msgspec.ValidationError``."""
        return msgspec.convert(raw, cls.Options)

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the transport and bring the device to a known state."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the device. Must not raise."""

    @abc.abstractmethod
    async def health(self) -> DeviceHealth:
        """Ask the device how it is; raises ``DeviceOffline`` when it does not answer."""


class PrinterDriver(DeviceDriver):
    """A receipt, kitchen or label printer."""

    kind = "printer"

    @abc.abstractmethod
    async def ensure_ready(self) -> DeviceHealth:
        """Check the printer can take a job now; raise ``PaperOut``/``CoverOpen``/``DeviceOffline``.

        Nothing is sent to paper, so a job refused here can be held and resent unchanged.
        """

    @abc.abstractmethod
    async def print(self, data: bytes, *, on_health: HealthCallback | None = None) -> None:
        """Send ``data`` and return once the printer confirms it has printed it.

        While waiting, conditions that hold the printer (paper out, cover open) are passed to
        ``on_health`` and the wait goes on, since a printer finishes buffered data by itself
        once it recovers. Errors raised here carry ``sent=True`` when bytes may have reached
        the printer, so the caller knows a retry could duplicate paper.
        """
