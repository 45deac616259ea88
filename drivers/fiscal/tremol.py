"""Tremol ZFP fiscal printers (FP01-KL, FP05, M20 ...) over serial, or over LAN on port 8000.

The receipt flow is :mod:`drivers.fiscal.resumable` (the Datecs X flow, resumable through the
journal); this module says each step in ZFP. Field syntax follows Tremol's ZFP description as
the simulator's Tremol device implements it (``firmware-sim/smartpos_sim/fiscal/tremol_device.py``),
fields separated by ``;`` in cp1251:

- 30h open ``Op;Pwd;Format;PrintVAT;PrintType[$UniqueReceiptNumber]``, or for a refund the
  storno form ``Op;Pwd;Format;PrintVAT;StornoType;Reason;ReceiptNo;DD-MM-YY hh:mm:ss;FM[;URN]``;
- 31h sale ``Name;VATClass;Price*Qty[:±Discount]`` with the VAT classes А..З (Cyrillic);
- 35h payment ``Type;Change;Amount``, 37h free text, 38h close, 39h cancel;
- 72h receipt info (open, item count, amounts per VAT class, number) and ``72h P`` (the amount
  paid per payment type), 71h last receipt number, 20h status bytes, 60h serial and FM numbers;
- 7Ch daily report ``X``/``Z``, 3Bh cash in/out, 3Ah duplicate.

Commands without output are acknowledged; the report is one of them, so a report's number and
totals are not known to this driver (:class:`ReportResult` carries 0 and empty totals).
"""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import msgspec

from drivers.base import DeviceHealth
from drivers.discovery.base import FoundDevice
from drivers.errors import ProtocolError
from drivers.fiscal.base import ReportResult
from drivers.fiscal.datecs_x_link import LinkTiming, drain
from drivers.fiscal.resumable import ResumableFiscalPrinter, Transaction, refund_reference
from drivers.fiscal.tremol_link import TremolLink
from drivers.transports.base import Transport
from protocols.fiscal import tremol as tr
from protocols.fiscal.datecs_x_commands import STORNO_REASONS, money, parse_money, printable
from protocols.fiscal.errors import FieldError, FrameError
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

ENCODING = "cp1251"  # ZFP's code page, on every model
NAME = 36
VAT_CLASSES = dict(zip("ABCDEFGH", "АБВГДЕЖЗ", strict=True))
# ZFP payment types: 0 cash, 1 cheque, 2 coupons, 7 card, 8 bank, 9 the first programmable one.
PAYMENT_TYPES = {"cash": "0", "check": "1", "voucher": "2", "card": "7", "credit": "8", "other": "9"}
# Print types of a sale receipt and of a storno receipt: step by step, postponed, buffered.
PRINT_TYPES = {"step": ("0", "@"), "postponed": ("2", "B"), "buffered": ("4", "D")}
# Receipt info (72h): positions of the amounts per VAT class А..З and of the receipt number.
AMOUNT_FIELDS = (2, 3, 4, 14, 15, 16, 17, 18)
NUMBER_FIELD = 19

_CONDITIONS = {
    "paper_end": "paper_out",
    "paper_near_end": "paper_near_end",
    "fm_nearly_full": "fiscal_memory_nearly_full",
    "fm_full": "fiscal_memory_full",
    "fm_error": "fiscal_memory_error",
    "sd_nearly_full": "journal_nearly_full",
    "sd_full": "journal_full",
    "clock_not_set": "clock_not_set",
    "head_overheated": "head_overheated",
    "paper_out": "paper_out",  # the PING answer's bit
    "overheated": "head_overheated",
}
_WARNINGS = frozenset({"paper_near_end", "fiscal_memory_nearly_full", "journal_nearly_full", "clock_not_set"})


class TremolOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a Tremol fiscal printer: operator, LAN password and link timing."""

    operator: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,2}$")] = "1"
    # Tremol's factory default operator password, not a secret of ours.
    password: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{0,6}$")] = "0"  # noqa: S105
    # Sent first, ended by LF, on a LAN (TCP port 8000) connection; empty on serial.
    lan_password: Annotated[str, msgspec.Meta(pattern=r"^[\x20-\x7e]{0,32}$")] = ""
    print_type: Literal["step", "postponed", "buffered"] = "step"
    connect_timeout: Seconds = 3.0
    reply_timeout: Seconds = 0.5
    attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 4
    poll_interval: Seconds = 5.0
    comment_width: Annotated[int, msgspec.Meta(ge=16, le=46)] = 46
    currency_exponent: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2


def health_from_flags(flags: frozenset[str]) -> DeviceHealth:
    """The hub's view of the status bytes (20h) and PING bits."""
    conditions = tuple(sorted({_CONDITIONS[flag] for flag in flags if flag in _CONDITIONS}))
    if any(condition not in _WARNINGS for condition in conditions):
        return DeviceHealth(state="error", conditions=conditions, detail=", ".join(conditions))
    return DeviceHealth(state="online", conditions=conditions)


def _text(text: str, width: int) -> str:
    """One field of text: blanks folded, no control bytes or ';', cp1251 letters only."""
    cleaned = "".join(c for c in text if c >= " " or c.isspace()).replace(";", ",")
    return printable(" ".join(cleaned.split()), ENCODING)[:width].strip()


def _quantity(text: str) -> str:
    try:
        return f"{Decimal(text):.3f}"
    except InvalidOperation:
        raise FieldError(f"not a quantity: {text!r}") from None


class TremolPrinter(ResumableFiscalPrinter):
    """A Tremol ZFP fiscal printer."""

    name = "tremol"
    Options = TremolOptions
    options: TremolOptions

    def __init__(self, device_id: str, transport: Transport, options: TremolOptions) -> None:
        super().__init__(device_id, transport, options)
        self.link = TremolLink(
            transport, device_id, LinkTiming(reply_timeout=options.reply_timeout, attempts=options.attempts)
        )

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        # Tremol's USB-serial adapters carry its name in /dev/serial/by-id; nothing else can
        # tell, as a ZFP device says nothing unasked.
        return 10 if found.bus == "serial" and "tremol" in found.name.lower() else 0

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)
        await drain(self.transport)
        self.link.reset()
        if self.options.lan_password:
            await self.link.send_password(self.options.lan_password)
        else:
            await self.link.ping()
        # A data command first: should the device take its NBL for a repeat of its last
        # message, the answer shows it (another command's) and the link moves on.
        fields = self._fields(await self.link.answer(tr.FD_NUMBERS), 2)
        self.serial_number, self.fm_number = fields[0], fields[1]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        ping = await self.link.ping()
        if "busy" in ping.flags:
            return health_from_flags(ping.flags)
        answer = await self.link.answer(tr.STATUS)
        try:
            flags = tr.status_flags(answer.data)
        except FrameError as exc:
            raise ProtocolError(f"{self.device_id}: status: {exc}", sent=True) from None
        return health_from_flags(flags | ping.flags)

    # -- receipt steps --------------------------------------------------------------------
    async def _transaction(self, exponent: int) -> Transaction:
        fields = self._fields(await self.link.answer(tr.RECEIPT_INFO), NUMBER_FIELD + 1)
        is_open = fields[0] == "1"
        paid = 0
        if is_open:
            payments = self._fields(await self.link.answer(tr.RECEIPT_INFO, b"P"), 3)
            paid = sum(self._money(value, exponent) for value in payments[2:])
        return Transaction(
            is_open=is_open,
            number=self._int(fields[NUMBER_FIELD], "receipt number"),
            items=self._int(fields[1], "item count"),
            amount=sum(self._money(fields[index], exponent) for index in AMOUNT_FIELDS),
            paid=paid,
        )

    async def _cancel(self) -> None:
        await self.link.command(tr.CANCEL_RECEIPT)

    async def _open(self, receipt: FiscalReceipt) -> None:
        o, usn = self.options, receipt.unique_sale_number
        sale_type, storno_type = PRINT_TYPES[o.print_type]
        if receipt.kind == "refund":
            number, at = refund_reference(self.device_id, receipt)
            fields: list[object] = [
                o.operator, o.password, "1", "1", storno_type, STORNO_REASONS[receipt.refund_reason],
                number, at.strftime("%d-%m-%y %H:%M:%S"), self.fm_number, *([usn] if usn else []),
            ]  # fmt: skip
        else:
            # Detailed format, VAT printed; the unique sale number rides on the print type.
            fields = [o.operator, o.password, "1", "1", f"{sale_type}${usn}" if usn else sale_type]
        await self.link.command(tr.OPEN_RECEIPT, tr.params(*fields))

    async def _sale(self, item: FiscalItem, exponent: int) -> None:
        vat = VAT_CLASSES.get(item.tax_group)
        if vat is None:
            raise FieldError(f"tax group {item.tax_group!r} is not one of A..H")
        price = f"{money(item.unit_price, exponent)}*{_quantity(item.quantity)}"
        if item.discount:
            # ":" then a signed sum: minus a discount, plus a surcharge (the line's own sum).
            price += f":{'-' if item.discount > 0 else ''}{money(abs(item.discount), exponent)}"
        await self.link.command(tr.SALE, tr.params(_text(item.name, NAME) or "-", vat, price))

    async def _pay(self, payment: FiscalPayment, value: int, exponent: int) -> None:
        # Change "0": the device may give change (cash handed over beyond the total).
        kind = PAYMENT_TYPES.get(payment.type, PAYMENT_TYPES["other"])
        await self.link.command(tr.PAYMENT, tr.params(kind, "0", money(value, exponent)))

    async def _comment(self, text: str) -> None:
        await self.link.command(tr.FREE_TEXT, tr.params(_text(text, self.options.comment_width)))

    async def _close(self) -> int:
        await self.link.command(tr.CLOSE_RECEIPT)
        # The close is only acknowledged: the number is read after it.
        answer = await self.link.answer(tr.LAST_RECEIPT_NUMBER)
        return self._int(answer.data.decode("ascii", errors="replace"), "last receipt number")

    # -- reports, cash, duplicates --------------------------------------------------------
    async def report(self, kind: Literal["X", "Z"]) -> ReportResult:
        await self.link.command(tr.DAILY_REPORT, tr.params(kind))
        # Acknowledged without data: the device keeps the report's number and totals to itself.
        return ReportResult(kind=kind, number=0, totals={}, storno={})

    async def cash_in_out(self, amount: int) -> None:
        o = self.options
        data = tr.params(o.operator, o.password, "0", money(amount, o.currency_exponent))
        await self.link.command(tr.CASH_IN_OUT, data)

    async def duplicate(self) -> None:
        await self.link.command(tr.DUPLICATE)

    # -- answers --------------------------------------------------------------------------
    def _fields(self, answer: tr.Answer, count: int) -> list[str]:
        fields = answer.fields(ENCODING)
        if len(fields) < count:
            raise ProtocolError(
                f"{self.device_id}: answer to {answer.cmd:#04x} has {len(fields)} field(s), expected {count}",
                sent=True,
            )
        return fields

    def _int(self, text: str, what: str) -> int:
        if not text.strip().isdigit():
            raise ProtocolError(f"{self.device_id}: {what} is not a number: {text!r}", sent=True)
        return int(text)

    def _money(self, text: str, exponent: int) -> int:
        try:
            return parse_money(text, exponent)
        except FrameError as exc:
            raise ProtocolError(f"{self.device_id}: {exc}", sent=True) from None
