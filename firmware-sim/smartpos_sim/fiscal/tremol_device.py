"""Tremol ZFP on the fiscal engine.

Command syntax from Tremol's ZFP protocol description as quoted in edabg/fpgate
``DeviceTremolV1`` and used by erpnet/ErpNet.FP ``BgZfpFiscalPrinter``: fields separated by
``;``, amounts as decimal text, VAT classes as the Cyrillic letters А..З. Commands without
output are answered with an acknowledgement; a refused command too, its STE1 naming the
condition (``4`` receipt open, ``5`` payment not finished, ``7`` paid but not closed, ``1`` no
paper) and STE2 the error (``1`` invalid, ``2`` illegal, ``4`` syntax, ``6`` zero input, ``7``
no transaction to correct, ``8`` not enough cash).

Implemented: 20h status (7 bytes), 21h version, 60h serial and FM numbers, 30h open (sale or
storno, told apart by the print type), 31h sale, 33h subtotal, 35h payment, 36h pay the rest
in cash and close, 37h free text, 38h close, 39h cancel, 3Ah duplicate, 3Bh cash in/out,
48h/68h date and time, 6Eh cash registers (option 0), 71h last receipt number, 72h current
receipt info (and option P, payments), 7Ch daily report X/Z. Left out: invoices and credit
notes, department sales, subtotal discounts, the LAN password exchange.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from protocols.fiscal import tremol as tr
from smartpos_sim.fiscal.engine import FiscalEngine
from smartpos_sim.fiscal.link import Command, Damaged, Incoming, Noise, Ping
from smartpos_sim.fiscal.model import (
    STORNO_REASONS,
    TAX_GROUPS,
    BadParam,
    Refusal,
    Refused,
    StornoOf,
    format_amount,
    need,
    optional,
    parse_amount,
    parse_datetime,
    parse_int,
    parse_percent,
    parse_quantity,
)

ENCODING = "cp1251"
VAT_CLASSES = "АБВГДЕЖЗ"
NAME = 36
TEXT = 46  # TextLength - 2 on a 48-column printer
PAYMENT_TYPES = 12
_PRICE = re.compile(
    r"(?P<price>-?[0-9]{1,10}(?:\.[0-9]{1,2})?)(?:\*(?P<qty>[0-9]{1,10}(?:\.[0-9]{1,3})?))?"
    r"(?:,(?P<perc>-?[0-9]{1,2}(?:\.[0-9]{1,2})?))?(?::(?P<value>-?[0-9]{1,8}(?:\.[0-9]{1,2})?))?"
)
# (STE1, STE2) per refusal; PAYMENT_STARTED picks STE1 from the receipt (see _ack_for).
ACKS: dict[Refusal, tuple[int, int]] = {
    Refusal.ALREADY_OPEN: (0x34, 0x32),
    Refusal.RECEIPT_OPEN: (0x34, 0x32),
    Refusal.RECEIPT_CLOSED: (0x30, 0x32),
    Refusal.PAYMENT_STARTED: (0x35, 0x32),
    Refusal.NO_SALES: (0x30, 0x36),
    Refusal.PAYMENT_NOT_STARTED: (0x35, 0x32),
    Refusal.NOT_PAID: (0x35, 0x32),
    Refusal.FULLY_PAID: (0x37, 0x32),
    Refusal.STORNO_CHANGE: (0x30, 0x32),
    Refusal.NEGATIVE_TURNOVER: (0x30, 0x37),
    Refusal.ZERO_SALE: (0x30, 0x36),
    Refusal.ZERO_PAYMENT: (0x30, 0x36),
    Refusal.NO_CASH: (0x30, 0x38),
    Refusal.OVERFLOW: (0x32, 0x35),
    Refusal.PAPER_OUT: (0x31, 0x32),
    Refusal.NOTHING_TO_PRINT: (0x30, 0x32),
    Refusal.DUPLICATE_PRINTED: (0x30, 0x32),
}


class TremolReader:
    """The ZFP device parser, its items normalised for the link."""

    def __init__(self) -> None:
        self._parser = tr.DeviceParser()

    def feed(self, data: bytes) -> list[Incoming]:
        out: list[Incoming] = []
        for item in self._parser.feed(data):
            if isinstance(item, tr.Request):
                out.append(Command(item.nbl, item.cmd, item))
            elif isinstance(item, tr.Ping):
                out.append(Ping())
            elif "outside a frame" in item.reason:
                out.append(Noise(item.reason))
            else:
                out.append(Damaged(item.reason))
        return out


def _operator(fields: list[str]) -> str:
    operator = str(parse_int(need(fields, 1), 1, 1, 20))
    if len(need(fields, 2)) > 6:
        raise BadParam(2, "operator password is at most 6 characters")
    return operator


class TremolDevice:
    """ZFP commands answered from the engine: data answers or acknowledgements."""

    name = "tremol"
    nak = bytes((tr.NACK,))
    busy = bytes((tr.RETRY,))

    def __init__(self, engine: FiscalEngine) -> None:
        self.engine = engine
        ident = engine.identity
        self._handlers: dict[int, Callable[[list[str]], str | bytes | None]] = {
            tr.STATUS: lambda _: self._status(),
            tr.VERSION: lambda _: (
                f"2;123456;{ident.firmware_date} {ident.firmware_time};TREMOL {ident.model};{ident.firmware}"
            ),
            tr.FD_NUMBERS: lambda _: f"{ident.serial_number};{ident.fm_number}",
            tr.OPEN_RECEIPT: self._open,
            tr.SALE: self._sale,
            tr.SUBTOTAL: self._subtotal,
            tr.PAYMENT: self._payment,
            tr.PAY_AND_CLOSE: self._pay_and_close,
            tr.FREE_TEXT: self._text,
            tr.CLOSE_RECEIPT: lambda _: self._done(self.engine.close()),
            tr.CANCEL_RECEIPT: lambda _: self._done(self.engine.cancel()),
            tr.DUPLICATE: lambda _: self._done(self.engine.duplicate()),
            tr.CASH_IN_OUT: self._cash,
            tr.SET_DATETIME: self._set_datetime,
            tr.GET_DATETIME: lambda _: self.engine.now().strftime("%d-%m-%Y %H:%M"),
            tr.REGISTERS: self._registers,
            tr.LAST_RECEIPT_NUMBER: lambda _: f"{self.engine.last_number:06d}",
            tr.RECEIPT_INFO: self._receipt_info,
            tr.DAILY_REPORT: self._report,
        }

    def reader(self) -> TremolReader:
        return TremolReader()

    def ping_reply(self, busy: bool) -> bytes:
        return bytes((tr.ping_reply(busy=busy, paper_out=self.engine.paper_out),))

    def execute(self, command: Command) -> bytes:
        request = command.message
        assert isinstance(request, tr.Request)
        handler = self._handlers.get(request.cmd)
        if handler is None:
            return tr.encode_ack(tr.Ack(request.nbl, 0x30, 0x31))
        try:
            result = handler(request.fields(ENCODING))
        except BadParam:
            return tr.encode_ack(tr.Ack(request.nbl, 0x30, 0x34))
        except Refused as exc:
            return tr.encode_ack(tr.Ack(request.nbl, *self._ack_for(exc.refusal)))
        if result is None:
            return tr.encode_ack(tr.Ack(request.nbl))
        data = result if isinstance(result, bytes) else result.encode(ENCODING, errors="replace")
        return tr.encode_answer(tr.Answer(request.nbl, request.cmd, data))

    def _ack_for(self, refusal: Refusal) -> tuple[int, int]:
        receipt = self.engine.open_receipt
        if refusal is Refusal.PAYMENT_STARTED and receipt is not None and receipt.paid >= receipt.total:
            return 0x37, 0x32  # registered payment, receipt not closed
        return ACKS[refusal]

    @staticmethod
    def _done(_: object) -> None:
        return None

    def _status(self) -> bytes:
        engine = self.engine
        flags = {"fiscalised", "fm_produced", "decimal_point"}
        if engine.paper_out:
            flags.add("paper_end")
        if engine.open_receipt is not None:
            flags.add("fiscal_receipt_open")
        if engine.fm_nearly_full:
            flags.add("fm_nearly_full")
        if engine.daily.documents:
            flags.add("daily_report_not_zeroed")
        if engine.receipts and engine.receipts[-1].duplicated:
            flags.add("duplicate_printed")
        return tr.encode_status(flags)

    # -- receipts -------------------------------------------------------------------------
    def _open(self, fields: list[str]) -> None:
        # Sale:   OperNum;OperPass;ReceiptFormat;PrintVAT;FiscalRcpPrintType{$UniqueReceiptNumber}
        # Storno: ...;StornoRcpPrintType(@ B D);StornoReason;RelatedToRcpNum;DateTime;FMNum{;URN}
        operator = _operator(fields)
        for index in (3, 4):
            parse_int(need(fields, index), index, 0, 1)
        print_type, _, usn = need(fields, 5).partition("$")
        if len(usn) > 24:
            raise BadParam(5, "the unique receipt number is at most 24 characters")
        if print_type in ("0", "2", "4") and len(fields) == 5:
            self.engine.open("sale", operator=operator, till=1, unique_sale_number=usn)
            return
        if print_type not in ("@", "B", "D") or usn:
            raise BadParam(5, "invoices are not simulated", syntax=False)
        reason = STORNO_REASONS[parse_int(need(fields, 6), 6, 0, 2)]
        document = parse_int(need(fields, 7), 7, 1, 999_999)
        at = parse_datetime(need(fields, 8), 8, "%d-%m-%y %H:%M:%S", "%d-%m-%y %H:%M")
        fm_number = need(fields, 9)
        if len(fm_number) != 8:
            raise BadParam(9, "fiscal memory number is 8 characters")
        storno_of = StornoOf(reason, document, at.isoformat(), fm_number, optional(fields, 10))
        self.engine.open("storno", operator=operator, till=1, storno_of=storno_of)
        return

    def _sale(self, fields: list[str]) -> None:
        # NamePLU;OptionVATClass;Price{*Quantity}{,DiscAddP}{:DiscAddV}
        name = need(fields, 1).strip()
        if not 1 <= len(name) <= NAME:
            raise BadParam(1, f"the name is 1 to {NAME} characters")
        vat = need(fields, 2)
        if len(vat) != 1 or vat not in VAT_CLASSES:
            raise BadParam(2, f"VAT class {vat!r} is not one of А..З", syntax=False)
        match = _PRICE.fullmatch(need(fields, 3))
        if match is None or len(fields) > 3:
            raise BadParam(3, "not a price")
        percent = parse_percent(match["perc"], 3) if match["perc"] else None
        value = parse_amount(match["value"], 3, negative=True) if match["value"] else 0
        if percent is not None and percent and value:
            raise BadParam(3, "a percent or a value adjustment, not both", syntax=False)
        group = TAX_GROUPS[VAT_CLASSES.index(vat)]
        price = parse_amount(match["price"], 3, negative=True)
        quantity = parse_quantity(match["qty"] or "1", 3)
        self.engine.sale(name, group, price, quantity, percent=percent or None, amount=value)
        return

    def _subtotal(self, fields: list[str]) -> str:
        # OptionPrinting;OptionDisplay{:DiscAddV}{,DiscAddP}: adjustments are not simulated.
        parse_int(need(fields, 1), 1, 0, 1)
        display = need(fields, 2)
        if display not in ("0", "1") or len(fields) > 2:
            raise BadParam(2, "subtotal discounts are not simulated")
        return format_amount(self.engine.subtotal().total)

    def _payment(self, fields: list[str]) -> None:
        # PaymentType;OptionChange;Amount{;OptionChangeType}; Amount '"' pays the exact sum.
        kind = parse_int(need(fields, 1), 1, 0, PAYMENT_TYPES - 1)
        parse_int(need(fields, 2), 2, 0, 1)
        text = need(fields, 3).removesuffix("*")
        amount = None if text == '"' else parse_amount(text, 3)
        if optional(fields, 4):
            parse_int(fields[3], 4, 0, 2)
        self.engine.pay("cash" if kind == 0 else f"payment_{kind}", amount)
        return

    def _pay_and_close(self, fields: list[str]) -> None:
        receipt = self.engine.open_receipt
        if receipt is not None and receipt.due:
            self.engine.pay("cash", None)
        self.engine.close()
        return

    def _text(self, fields: list[str]) -> None:
        text = ";".join(fields)
        if len(text) > TEXT:
            raise BadParam(1, f"at most {TEXT} characters", syntax=False)
        self.engine.comment(text)
        return

    def _receipt_info(self, fields: list[str]) -> str:
        option = optional(fields, 1)
        state = self.engine.transaction()
        receipt = self.engine.open_receipt or (self.engine.receipts[-1] if self.engine.receipts else None)
        payments = dict.fromkeys(range(PAYMENT_TYPES), 0)
        groups = dict.fromkeys(TAX_GROUPS, 0)
        if receipt is not None:
            groups = receipt.group_totals()
            for payment in receipt.payments:
                index = 0 if payment.kind == "cash" else int(payment.kind.rpartition("_")[2])
                payments[index] += payment.amount
        if option == "P":
            return ";".join(
                ["P", "1" if state.is_open else "0", *(format_amount(v) for v in payments.values())]
            )
        if option:
            raise BadParam(1, "option is P or nothing")
        paid_up = receipt is not None and receipt.payments and receipt.paid >= receipt.total
        kind = "4" if state.kind == "storno" else "0"
        change = format_amount(receipt.change if receipt else 0)
        amounts = [format_amount(groups[g]) for g in TAX_GROUPS]
        return ";".join([
            "1" if state.is_open else "0", f"{state.items:03d}", *amounts[:3], "0", "1", "1",
            "1" if state.payment_started else "0", "1" if paid_up else "0", "0", kind, change, "0",
            *amounts[3:], f"{state.number:06d}",
        ])  # fmt: skip

    # -- day and device -------------------------------------------------------------------
    def _cash(self, fields: list[str]) -> None:
        # OperNum;OperPass;'0';Amount{$PrintAvailability}{;Text}: a negative amount is cash out.
        _operator(fields)
        amount_text, _, _ = need(fields, 4).partition("$")
        self.engine.cash(parse_amount(amount_text, 4, negative=True))
        return

    def _set_datetime(self, fields: list[str]) -> None:
        self.engine.set_datetime(parse_datetime(need(fields, 1), 1, "%d-%m-%y %H:%M:%S"))
        return

    def _registers(self, fields: list[str]) -> str:
        if need(fields, 1) != "0":
            raise BadParam(1, "only option 0 is simulated", syntax=False)
        by_kind = self.engine.daily.payments
        values = [self.engine.cash_sum, *(by_kind.get(f"payment_{n}", 0) for n in range(1, 5))]
        return ";".join(["0", *(format_amount(v) for v in values)])

    def _report(self, fields: list[str]) -> None:
        kind = need(fields, 1)
        if kind not in ("X", "Z"):
            raise BadParam(1, "X or Z", syntax=False)
        self.engine.report(zeroing=kind == "Z")
        return
