"""Datecs C-protocol fiscal printers (the older ISL devices: FP-550, FP-800, DP-25 ...).

The receipt flow is :mod:`drivers.fiscal.resumable` (the Datecs X flow, resumable through the
journal); this module says each step in C. Field syntax follows the Datecs manuals as the
simulator's C device implements them (``firmware-sim/smartpos_sim/fiscal/c_device.py``):

- 30h open ``Op,Pwd[,UniqueSaleNumber],Till`` / 2Eh storno ``Op,Pwd,USN,Till,Reason,Doc,
  DDMMYYhhmmss,FM`` (refunds);
- 31h sale ``Text[LF Text2] TAB TaxLetter Price*Qty[;±Discount]`` (two lines of 22 characters);
- 35h payment ``TAB Mode Amount`` (P cash, C card, N credit, I voucher) answering ``D``/``R``;
- 36h comment, 38h close, 3Ch cancel (the device allows it only before the first payment),
  4Ch transaction status ``T`` -> ``Open,Items,Amount,Tender``, 71h last document number (the
  C transaction status has no receipt number, so the number comes from here), 45h report
  (``2`` X, ``0`` Z), 46h cash in/out, 6Dh duplicate, 4Ah status, 5Ah device info.

Amounts go out as decimal text and come back as signed minor units ("+000001250"). C devices
are configured by hand (they answer nothing unasked and share their USB adapters with the X
models), so :meth:`DatecsCPrinter.supports` claims nothing.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import msgspec

from drivers.base import DeviceHealth
from drivers.errors import DeviceOffline, ProtocolError
from drivers.fiscal.base import ReportResult
from drivers.fiscal.datecs_c_link import DatecsCLink
from drivers.fiscal.datecs_x import health_from_flags
from drivers.fiscal.datecs_x_link import LinkTiming, drain
from drivers.fiscal.resumable import ResumableFiscalPrinter, Transaction, refund_reference
from drivers.transports.base import Transport
from protocols.fiscal import datecs_c as dc
from protocols.fiscal.datecs_x_commands import STORNO_REASONS, money, printable
from protocols.fiscal.errors import FieldError
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

LINE = 22  # characters per line of a sale's text; a sale carries two lines
LATIN_GROUPS = "ABCDEFGH"
CYRILLIC_GROUPS = "АБВГДЕЖЗ"
# The C payment modes: P cash, N credit, C debit card, D NZOK, I voucher, J coupon. The hub's
# cheques and other tenders have no mode of their own and go as credit, as with the X driver.
PAID_MODES = {"cash": "P", "card": "C", "credit": "N", "check": "N", "voucher": "I", "other": "N"}


class DatecsCOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a Datecs C fiscal printer: the operator it signs in as and link timing."""

    operator: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,2}$")] = "1"
    # The factory default operator password of Datecs devices, not a secret of ours.
    password: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,8}$")] = "0000"  # noqa: S105
    till: Annotated[int, msgspec.Meta(ge=1, le=99999)] = 1
    connect_timeout: Seconds = 3.0
    reply_timeout: Seconds = 0.5
    attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 4
    poll_interval: Seconds = 5.0
    comment_width: Annotated[int, msgspec.Meta(ge=16, le=80)] = 36
    currency_exponent: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2
    # The device's code page (cp1251 on the Bulgarian and Bosnian C firmware). Letters it
    # lacks are printed as their base letter.
    encoding: Literal["cp1251", "cp1250", "cp866", "cp437"] = "cp1251"
    # Tax groups A..H as Latin letters or as the Cyrillic А..З older firmware expects.
    tax_letters: Literal["latin", "cyrillic"] = "latin"


def _text(text: str, encoding: str) -> str:
    """One line of device text: blanks folded, control bytes dropped (the C frame has no escaping,
    so they would read as frame markers), letters the code page lacks replaced."""
    return printable(" ".join("".join(c for c in text if c >= " " or c.isspace()).split()), encoding)


def _signed(text: str, what: str) -> int:
    """A C answer amount ("+000001250", minor units with a sign)."""
    try:
        return int(text)
    except ValueError:
        raise ProtocolError(f"{what} is not a signed amount: {text!r}", sent=True) from None


def _quantity(text: str) -> str:
    try:
        return f"{Decimal(text):.3f}"
    except InvalidOperation:
        raise FieldError(f"not a quantity: {text!r}") from None


class DatecsCPrinter(ResumableFiscalPrinter):
    """A Datecs C-protocol fiscal printer."""

    name = "datecs_c"
    Options = DatecsCOptions
    options: DatecsCOptions
    # "Cancel: allowed only before command 53 (Total)": a paid receipt is finished instead.
    cancels_paid_receipts = False

    def __init__(self, device_id: str, transport: Transport, options: DatecsCOptions) -> None:
        super().__init__(device_id, transport, options)
        self.link = DatecsCLink(
            transport, device_id, LinkTiming(reply_timeout=options.reply_timeout, attempts=options.attempts)
        )
        self.model = ""

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)
        await drain(self.transport)
        self.link.reset()
        # Device info first: harmless if the device mistakes it for a repeat of its last
        # command, and it names the fiscal memory every receipt result carries.
        fields = self._fields(await self.link.request(dc.DEVICE_INFO, b"1", check=False), 6)
        self.model, self.serial_number, self.fm_number = fields[0], fields[4], fields[5]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        await self.link.request(dc.STATUS, check=False)
        return health_from_flags(self.link.last_flags)

    # -- receipt steps --------------------------------------------------------------------
    async def _transaction(self, exponent: int) -> Transaction:
        fields = self._fields(await self.link.request(dc.TRANSACTION_STATUS, b"T"), 4)
        return Transaction(
            is_open=fields[0] == "1",
            number=await self._last_number(),
            items=self._int(fields[1], "item count"),
            amount=_signed(fields[2], "receipt amount"),
            paid=_signed(fields[3], "tender"),
        )

    async def _last_number(self) -> int:
        reply = await self.link.request(dc.LAST_DOCUMENT)
        return self._int(reply.data.decode("ascii", errors="replace"), "last document number")

    async def _cancel(self) -> None:
        await self.link.request(dc.CANCEL_RECEIPT)

    async def _open(self, receipt: FiscalReceipt) -> None:
        o, usn = self.options, receipt.unique_sale_number
        if receipt.kind == "refund":
            number, at = refund_reference(self.device_id, receipt)
            if not self.fm_number:
                raise DeviceOffline(f"{self.device_id}: the device's fiscal memory number is unknown")
            data = dc.params(
                o.operator, o.password, usn, o.till, STORNO_REASONS[receipt.refund_reason], number,
                at.strftime("%d%m%y%H%M%S"), self.fm_number,
            )  # fmt: skip
            await self.link.request(dc.OPEN_STORNO, data)
            return
        fields: list[object] = [o.operator, o.password, *([usn] if usn else []), o.till]
        await self.link.request(dc.OPEN_RECEIPT, dc.params(*fields))

    async def _sale(self, item: FiscalItem, exponent: int) -> None:
        o = self.options
        name = _text(item.name, o.encoding) or "-"
        lines = [name[:LINE], name[LINE : 2 * LINE].strip()]
        groups = CYRILLIC_GROUPS if o.tax_letters == "cyrillic" else LATIN_GROUPS
        if item.tax_group not in LATIN_GROUPS:
            raise FieldError(f"tax group {item.tax_group!r} is not one of A..H")
        price = f"{groups[LATIN_GROUPS.index(item.tax_group)]}{money(item.unit_price, exponent)}"
        price += f"*{_quantity(item.quantity)}"
        if item.discount:
            # ";" then a signed sum: minus a discount, plus a surcharge (the line's own sum).
            price += f";{'-' if item.discount > 0 else '+'}{money(abs(item.discount), exponent)}"
        text = "\n".join(line for line in lines if line)
        await self.link.request(dc.SALE, f"{text}\t{price}".encode(o.encoding))

    async def _pay(self, payment: FiscalPayment, value: int, exponent: int) -> None:
        data = f"\t{PAID_MODES.get(payment.type, 'N')}{money(value, exponent)}".encode("ascii")
        await self.link.request(dc.PAYMENT, data)

    async def _comment(self, text: str) -> None:
        o = self.options
        await self.link.request(dc.COMMENT, _text(text, o.encoding)[: o.comment_width].encode(o.encoding))

    async def _close(self) -> int:
        await self.link.request(dc.CLOSE_RECEIPT)
        # The close answers the day's document counters, not the receipt's number.
        return await self._last_number()

    # -- reports, cash, duplicates --------------------------------------------------------
    async def report(self, kind: Literal["X", "Z"]) -> ReportResult:
        reply = await self.link.request(dc.REPORT, b"2" if kind == "X" else b"0")
        fields = self._fields(reply, 2 + len(LATIN_GROUPS))
        totals = {g: _signed(fields[2 + i], f"total of {g}") for i, g in enumerate(LATIN_GROUPS)}
        # The C report answer carries the sales per tax group only, no storno totals.
        return ReportResult(kind=kind, number=self._int(fields[0], "report number"), totals=totals, storno={})

    async def cash_in_out(self, amount: int) -> None:
        await self.link.request(dc.CASH_IN_OUT, money(amount, self.options.currency_exponent).encode("ascii"))

    async def duplicate(self) -> None:
        await self.link.request(dc.DUPLICATE, b"1")

    # -- answers --------------------------------------------------------------------------
    def _fields(self, reply: dc.Reply, count: int) -> list[str]:
        fields = reply.fields(self.options.encoding)
        if len(fields) < count:
            raise ProtocolError(
                f"{self.device_id}: answer to {reply.cmd:#04x} has {len(fields)} field(s), expected {count}",
                sent=True,
            )
        return fields

    def _int(self, text: str, what: str) -> int:
        if not text.strip().isdigit():
            raise ProtocolError(f"{self.device_id}: {what} is not a number: {text!r}", sent=True)
        return int(text)
