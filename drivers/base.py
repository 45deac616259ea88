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

from drivers.discovery.base import FoundDevice
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
    def supports(cls, found: FoundDevice) -> int:
        """How well this driver fits a discovered device: 0 not at all, higher is better.

        The registry offers every discovered device to every driver; the highest score wins
        and ties go to the driver listed first, so a specific driver (a Star raster model)
        outranks a generic one (any printer-class device) by scoring higher. Must be cheap
        and must not touch the device.
        """
        return 0

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


class DisplayDriver(DeviceDriver):
    """A customer-facing line display (pole display): a few lines of a few characters."""

    kind = "line_display"

    @property
    @abc.abstractmethod
    def size(self) -> tuple[int, int]:
        """``(columns, rows)`` of the display, e.g. ``(20, 2)``."""

    @abc.abstractmethod
    async def show(self, lines: tuple[str, ...]) -> None:
        """Replace what the display shows with ``lines`` (cut or padded to its size)."""

    @abc.abstractmethod
    async def clear(self) -> None:
        """Blank the display."""


ScanCallback = Callable[[str], Awaitable[None]]


class ScannerDriver(DeviceDriver):
    """A serial barcode scanner: it only talks, each scan a line of text."""

    kind = "scanner"

    @abc.abstractmethod
    async def scans(self, on_scan: ScanCallback) -> None:
        """Read scans and pass each decoded code to ``on_scan`` until the link breaks.

        Returns never on its own: raises ``DeviceOffline`` when the port goes away.
        """


class Weight(msgspec.Struct, frozen=True, kw_only=True):
    """One reading of a scale: the net weight (after tare) in milligrams, exact, whatever unit the
    scale shows. ``stable`` is False while the load moves; only a stable weight is sold."""

    milligrams: int
    stable: bool
    overload: bool = False
    underload: bool = False
    unit: str = "kg"  # the unit the scale displays (kg, g, lb)
    raw: str = ""  # the scale's answer as received, for the log


WeightCallback = Callable[[Weight], Awaitable[None]]


class ScaleDriver(DeviceDriver):
    """A weighing scale on a serial line (or a TCP bridge to one)."""

    kind = "scale"

    @abc.abstractmethod
    async def weigh(self) -> Weight:
        """Ask for the current weight (stable or not, as the scale reports it)."""

    @abc.abstractmethod
    async def zero(self) -> None:
        """Set the empty platform to zero; raises ``Declined`` when the scale refuses."""

    @abc.abstractmethod
    async def tare(self) -> None:
        """Take the load on the platform as tare."""


PaymentState = Literal["started", "waiting_for_card", "approved", "declined", "aborted", "unknown"]


class TerminalStatus(msgspec.Struct, frozen=True, kw_only=True):
    """An intermediate status the terminal reports during a payment ("insert card", "enter PIN")."""

    code: str
    text: str


class PaymentOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """How a payment (or refund, reversal) ended, with what the receipt must show.

    ``state`` is ``approved``, ``declined`` or ``aborted``; ``unknown`` only when the terminal
    could not say (the hub then asks again before anything else). ``receipt_lines`` are the
    terminal's own receipt lines, printed on our receipt printer.
    """

    state: PaymentState
    amount: int  # minor units
    result_code: str = ""
    message: str = ""
    reference: str = ""  # the ECR's reference the payment was started with
    trace: str = ""
    receipt_number: str = ""
    terminal_id: str = ""
    card_type: str = ""
    masked_pan: str = ""
    authorized_at: str = ""
    receipt_lines: list[str] = []


StatusCallback = Callable[[TerminalStatus], Awaitable[None]]


class PaymentTerminalDriver(DeviceDriver):
    """A card payment terminal (ZVT, nexo). One operation at a time; every operation carries the
    ECR's ``reference`` so a restart can ask the terminal how it ended."""

    kind = "payment_terminal"

    @abc.abstractmethod
    async def pay(self, amount: int, reference: str, *, on_status: StatusCallback) -> PaymentOutcome:
        """Authorise ``amount``; ``on_status`` gets every intermediate status as it comes."""

    @abc.abstractmethod
    async def refund(self, amount: int, reference: str, *, on_status: StatusCallback) -> PaymentOutcome:
        """Pay ``amount`` back to a card."""

    @abc.abstractmethod
    async def reverse(
        self, receipt_number: str, reference: str, *, on_status: StatusCallback
    ) -> PaymentOutcome:
        """Reverse an approved payment of today by its receipt number."""

    @abc.abstractmethod
    async def abort(self) -> None:
        """Ask the terminal to abort the operation in progress (the ECR's own abort)."""

    @abc.abstractmethod
    async def last_result(self, reference: str) -> PaymentOutcome | None:
        """How the operation started with ``reference`` ended, if the terminal knows it; None
        when the terminal never started it. Used after a restart, before anything else."""

    @abc.abstractmethod
    async def end_of_day(self) -> list[str]:
        """Close the terminal's day (settlement); returns the lines of its report."""
