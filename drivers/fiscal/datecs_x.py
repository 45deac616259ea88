"""Datecs X fiscal printers (FP-700X, DP-150X, FMP-350X ...) over serial or TCP.

The receipt flow of the reference sheet, made resumable through the journal:

1. read the fiscal transaction status (76);
2. if a previous attempt already sent close (``close_sent``): never cancel. If the receipt is
   closed and the device's number moved past ``before_number``, that close worked and its
   number is the answer; if the receipt is still open, close never ran: close it now;
3. otherwise cancel whatever is open (nothing of it is fiscal yet), note the device's number as
   ``before_number``, open (48, or 43 for a refund), register the sales (49), pay (53), print the
   comments (54), check the device's item count and total against the sale (76), mark
   ``close_sent`` and close (56): the close answer holds the receipt number.

Lost replies inside one attempt are absorbed by the link (same-SEQ resend); a lost link or a
killed hub ends the attempt, and the next one resumes at step 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated, Literal

import msgspec

from drivers.base import DeviceHealth
from drivers.discovery.base import FoundDevice
from drivers.errors import Declined, DeviceError, DeviceOffline
from drivers.fiscal.base import FiscalJournal, FiscalPrinterDriver, ReportResult
from drivers.fiscal.datecs_x_link import DatecsXLink, LinkTiming, drain
from drivers.transports.base import Transport
from protocols.fiscal import datecs_x_commands as cmds
from protocols.fiscal.errors import FiscalProtocolError
from protocols.fiscal.receipt import FiscalReceipt, FiscalResult

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class DatecsXOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a Datecs X fiscal printer: the operator it signs in as and link timing."""

    operator: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,2}$")] = "1"
    # The factory default operator password of Datecs devices, not a secret of ours.
    password: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,8}$")] = "0000"  # noqa: S105
    till: Annotated[int, msgspec.Meta(ge=1, le=99999)] = 1
    connect_timeout: Seconds = 3.0
    reply_timeout: Seconds = 0.5
    attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 4
    poll_interval: Seconds = 5.0
    comment_width: Annotated[int, msgspec.Meta(ge=16, le=80)] = 42
    currency_exponent: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2
    # The device's code page: cp1250 on Latin-2 (Balkan, Central European) firmware, cp1251 on
    # Cyrillic. Letters it lacks are printed as their base letter.
    encoding: Literal["cp1250", "cp1251", "cp866", "cp437"] = "cp1250"


_STATUS_CONDITIONS = {
    "paper_end": "paper_out",
    "cover_open": "cover_open",
    "paper_near_end": "paper_near_end",
    "fm_few_reports_left": "fiscal_memory_nearly_full",
    "fm_full": "fiscal_memory_full",
    "ej_nearly_full": "journal_nearly_full",
    "ej_full": "journal_full",
    "clock_not_set": "clock_not_set",
}
_WARNINGS = frozenset({"paper_near_end", "fiscal_memory_nearly_full", "journal_nearly_full", "clock_not_set"})


def health_from_flags(flags: frozenset[str]) -> DeviceHealth:
    conditions = tuple(sorted(_STATUS_CONDITIONS[flag] for flag in flags if flag in _STATUS_CONDITIONS))
    if any(condition not in _WARNINGS for condition in conditions):
        return DeviceHealth(state="error", conditions=conditions, detail=", ".join(conditions))
    return DeviceHealth(state="online", conditions=conditions)


class DatecsXPrinter(FiscalPrinterDriver):
    """A Datecs X-protocol fiscal printer."""

    name = "datecs_x"
    Options = DatecsXOptions
    options: DatecsXOptions

    def __init__(self, device_id: str, transport: Transport, options: DatecsXOptions) -> None:
        super().__init__(device_id, transport, options)
        self.link = DatecsXLink(
            transport, device_id, LinkTiming(reply_timeout=options.reply_timeout, attempts=options.attempts)
        )
        self.info: cmds.DeviceInfo | None = None

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        # A Datecs answers nothing unasked, so only its name can tell: a serial adapter named
        # after it (udev by-id) or the probe of a technician-allowed port.
        if found.bus == "serial" and "datecs" in found.name.lower():
            return 10
        return 10 if found.properties.get("probe") == "datecs_x" else 0

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)
        await drain(self.transport)
        self.link.reset()
        self.info = cmds.parse_device_info(await self.link.request(*cmds.device_info(), check=False))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        await self.link.request(*cmds.read_status(), check=False)
        return health_from_flags(self.link.last_flags)

    # -- receipts -------------------------------------------------------------------------
    async def fiscalise(self, receipt: FiscalReceipt, journal: FiscalJournal) -> FiscalResult:
        status = await self._transaction_status()
        marks = journal.marks
        if marks.get("close_sent"):
            before = int(marks["before_number"])
            if not status.is_open and status.number != before:
                return self._result(status.number, receipt)
            if status.is_open:
                return self._result(await self._close(), receipt)
            raise Declined(
                f"{self.device_id}: the receipt was closed without a new fiscal number (device shows "
                f"{status.number}); check the device's journal before issuing it again"
            )
        if status.is_open:
            # Nothing of an open receipt is fiscal until it is closed, and we never sent close.
            await self.link.request(*cmds.cancel_receipt())
            status = await self._transaction_status()
        await journal.mark(before_number=status.number, started=True)
        try:
            await self._register(receipt)
        except FiscalProtocolError as exc:
            # Something of the sale cannot be said to the device (a price too large ...): the
            # open receipt is cancelled and the sale is refused for a person to look at.
            await self.link.request(*cmds.cancel_receipt(), check=False)
            raise Declined(f"{self.device_id}: the receipt cannot be sent to the device: {exc}") from None
        check = await self._transaction_status()
        exponent = receipt.currency_exponent
        if check.items != len(receipt.items) or check.amount != receipt.total or check.paid < check.amount:
            await self.link.request(*cmds.cancel_receipt())
            raise Declined(
                f"{self.device_id}: the device counted {check.items} item(s) for {cmds.money(check.amount, exponent)} "
                f"paid {cmds.money(check.paid, exponent)}, the sale has {len(receipt.items)} for "
                f"{cmds.money(receipt.total, exponent)}; the receipt was cancelled"
            )
        await journal.mark(close_sent=True)
        return self._result(await self._close(), receipt)

    async def _register(self, receipt: FiscalReceipt) -> None:
        o, exponent = self.options, receipt.currency_exponent
        if receipt.kind == "refund":
            if self.info is None:
                raise DeviceOffline(f"{self.device_id}: device info unknown")
            opened = cmds.open_storno(
                o.operator, o.password, o.till, reason=receipt.refund_reason,
                document_number=int(receipt.refund_of_number or 0),
                document_time=_device_time(receipt.refund_of_at), fm_number=self.info.fm_number,
                unique_sale_number=receipt.unique_sale_number,
            )  # fmt: skip
        else:
            opened = cmds.open_receipt(o.operator, o.password, o.till, receipt.unique_sale_number)
        await self.link.request(*opened)
        for item in receipt.items:
            await self.link.request(
                *cmds.sale(
                    item.name,
                    item.tax_group,
                    item.unit_price,
                    item.quantity,
                    discount=item.discount,
                    unit=item.unit,
                    exponent=exponent,
                    encoding=o.encoding,
                )
            )
        for payment in receipt.payments:
            # What was handed over: the device prints the change, as the sale did.
            await self.link.request(
                *cmds.payment(payment.type, max(payment.tendered, payment.amount), exponent)
            )
        for comment in receipt.comments:
            await self.link.request(*cmds.comment(comment, o.comment_width, o.encoding))

    async def _close(self) -> int:
        return cmds.slip_number(await self.link.request(*cmds.close_receipt()))

    async def _transaction_status(self) -> cmds.TransactionStatus:
        reply = await self.link.request(*cmds.transaction_status())
        return cmds.parse_transaction_status(reply)

    def _result(self, number: int, receipt: FiscalReceipt) -> FiscalResult:
        info = self.info
        return FiscalResult(
            fiscal_number=str(number),
            fiscalised_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            device_serial=info.fm_number if info else "",
            details={"serial_number": info.serial_number if info else "", "request_id": receipt.request_id},
        )

    # -- reports and cash -----------------------------------------------------------------
    async def report(self, kind: Literal["X", "Z"]) -> ReportResult:
        answer = cmds.parse_report(await self.link.request(*cmds.report(kind)))
        return ReportResult(kind=kind, number=answer.number, totals=answer.totals, storno=answer.storno)

    async def cash_in_out(self, amount: int) -> None:
        await self.link.request(*cmds.cash_in_out(amount, self.options.currency_exponent))

    async def duplicate(self) -> None:
        await self.link.request(*cmds.duplicate())


def _device_time(iso: str) -> str:
    """An ISO time as Datecs writes it, in the local time the device keeps: "DD-MM-YY hh:mm:ss"."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise DeviceError(f"bad time of the refunded receipt: {iso!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone()  # the device's clock runs on the box's local time
    return moment.strftime("%d-%m-%y %H:%M:%S")
