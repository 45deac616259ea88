"""The fiscal printer driver interface and the journal that makes a receipt exactly-once.

A fiscal receipt cannot be taken back once the device has closed it, and a reply can be lost
at any step (the link drops, the hub is killed). So a driver never guesses: before each step
that cannot be repeated it writes a mark into the :class:`FiscalJournal` (the hub keeps it in
SQLite, committed before the bytes leave), and a later attempt reads the marks and the device's
own transaction status to carry on where the last one stopped. The one rule that must never
break: after ``close_sent`` is marked, the receipt is never cancelled.
"""

from __future__ import annotations

import abc
from typing import Any, Literal, Protocol

import msgspec

from drivers.base import DeviceDriver
from protocols.fiscal.receipt import FiscalReceipt, FiscalResult


class FiscalJournal(Protocol):
    """A receipt's durable progress marks (``before_number``, ``close_sent``, ...)."""

    @property
    def marks(self) -> dict[str, Any]:
        """What earlier attempts recorded; empty on the first attempt."""

    async def mark(self, **values: Any) -> None:
        """Record ``values`` durably before the step they guard is taken."""


class ReportResult(msgspec.Struct, frozen=True, kw_only=True):
    """An X or Z report as the device ran it: its number and the totals per tax group."""

    kind: Literal["X", "Z"]
    number: int
    totals: dict[str, int]
    storno: dict[str, int]


class FiscalPrinterDriver(DeviceDriver):
    """A fiscal printer: it prints and records sales and refunds in its fiscal memory."""

    kind = "fiscal_printer"

    @abc.abstractmethod
    async def fiscalise(self, receipt: FiscalReceipt, journal: FiscalJournal) -> FiscalResult:
        """Issue exactly one fiscal receipt for ``receipt``, resuming from ``journal``.

        Raises ``PaperOut``/``CoverOpen``/``DeviceOffline``/``Timeout`` when it must be tried
        again later (the journal says how far it got) and ``Declined`` when the device refuses
        the receipt itself.
        """

    @abc.abstractmethod
    async def report(self, kind: Literal["X", "Z"]) -> ReportResult:
        """Run the device's X or Z report."""

    @abc.abstractmethod
    async def cash_in_out(self, amount: int) -> None:
        """Register cash put into (amount > 0) or taken out of (amount < 0) the drawer."""

    @abc.abstractmethod
    async def duplicate(self) -> None:
        """Print a duplicate of the last fiscal receipt."""
