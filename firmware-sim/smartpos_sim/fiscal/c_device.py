"""Datecs C (FP-550, FP-800, DP-25 ...) on the fiscal engine.

Command syntax from the Datecs manuals as quoted in edabg/fpgate ``DeviceDatecsDPV1`` (DP-25
"FPprotocol" v2.04) and ``DeviceDatecsFPV1`` (FP-550/FP-800): commas between fields, TAB before
the tax code of a sale and before the amount of a payment; amounts go in as decimal text
("12.50") and come back in minor units with a sign ("+000001250"). This protocol has no error
codes: a refused command answers empty DATA (``F`` for the payment and cash commands, whose
answers start with a result letter) and the status bits say why: 1.1 "command not permitted"
(with 1.0 for an overflow), 0.0 a syntax error, 0.1 an unknown command, 2.0 no paper.

Implemented: 30h open, 2Eh open storno, 31h sale (tax letter, price, quantity, percent or sum
adjustment), 33h subtotal, 35h payment (P cash, N credit, C debit card, D NZOK, I voucher,
J coupon; no amount pays the rest in cash), 36h text, 38h close, 3Ch cancel (only before the
first payment, as the manual says), 3Dh/3Eh date and time, 45h daily report (0 Z, 2 X, none
Z), 46h cash in/out, 4Ah status, 4Ch transaction status, 5Ah device info, 6Dh duplicate, 71h
last document number. Left out: department sales, subtotal discounts, invoices, pinpad.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from protocols.fiscal import datecs_c as dc
from smartpos_sim.fiscal.engine import FiscalEngine
from smartpos_sim.fiscal.link import Command, Damaged, Incoming, Noise
from smartpos_sim.fiscal.model import (
    STORNO_REASONS,
    TAX_GROUPS,
    UNIQUE_SALE_NUMBER,
    BadParam,
    Refusal,
    Refused,
    StornoOf,
    need,
    optional,
    parse_amount,
    parse_datetime,
    parse_int,
    parse_percent,
    parse_quantity,
    signed_minor,
)

ENCODING = "cp1251"
LINE = 22  # characters per line of a sale's text
TEXT = 36  # characters of a free text line; the device cuts the rest
AMOUNT_WIDTH = 10  # "up to 9 digits with sign": payment, subtotal and cash answers
RECEIPT_WIDTH = 9  # "9 bytes with sign": the transaction status amounts
TOTAL_WIDTH = 12  # daily report totals: "12 bytes with sign"
CYRILLIC_GROUPS = "АБВГДЕЖЗ"
PAID_MODES = {"P": "cash", "N": "credit", "C": "debit_card", "D": "nzok", "I": "voucher", "J": "coupon"}
_SALE = re.compile(
    r"(?P<tax>.)(?P<price>-?[0-9]{1,8}(?:\.[0-9]{1,2})?)(?:\*(?P<qty>[0-9]{1,8}(?:\.[0-9]{1,3})?))?"
    r"(?:,(?P<perc>[-+]?[0-9]{1,2}(?:\.[0-9]{1,2})?)|[;$](?P<abs>[-+]?[0-9]{1,8}(?:\.[0-9]{1,2})?))?"
)
_PAYMENT = re.compile(r"(?:(?P<mode>[PNCDIJ])?\+?(?P<amount>[0-9]{1,10}(?:\.[0-9]{1,2})?))?(?:\*[0-9]{1,2})?")
# Commands whose answer begins with a result letter: refused, they answer "F".
_LETTER_ANSWERS = frozenset({dc.PAYMENT, dc.CASH_IN_OUT})


class CReader:
    """The C device parser, its items normalised for the link."""

    def __init__(self) -> None:
        self._parser = dc.DeviceParser()

    def feed(self, data: bytes) -> list[Incoming]:
        out: list[Incoming] = []
        for item in self._parser.feed(data):
            if isinstance(item, dc.Request):
                out.append(Command(item.seq, item.cmd, item))
            elif "outside a frame" in item.reason:
                out.append(Noise(item.reason))
            else:
                out.append(Damaged(item.reason))
        return out


def _password(text: str, index: int) -> None:
    if not (text.isdigit() and 1 <= len(text) <= 8):
        raise BadParam(index, "operator password is 1 to 8 digits")


class DatecsCDevice:
    """Datecs C commands answered from the engine."""

    name = "datecs-c"
    nak = bytes((dc.NAK,))
    busy = bytes((dc.SYN,))

    def __init__(self, engine: FiscalEngine) -> None:
        self.engine = engine
        self._handlers: dict[int, Callable[[dc.Request], bytes]] = {
            dc.OPEN_RECEIPT: self._open,
            dc.OPEN_STORNO: self._open_storno,
            dc.SALE: self._sale,
            dc.SUBTOTAL: self._subtotal,
            dc.PAYMENT: self._payment,
            dc.COMMENT: self._comment,
            dc.CLOSE_RECEIPT: self._close,
            dc.CANCEL_RECEIPT: self._cancel,
            dc.SET_DATETIME: self._set_datetime,
            dc.GET_DATETIME: lambda _: self.engine.now().strftime("%d-%m-%y %H:%M:%S").encode(),
            dc.REPORT: self._report,
            dc.CASH_IN_OUT: self._cash,
            dc.STATUS: lambda _: self._status(set()),
            dc.TRANSACTION_STATUS: self._transaction,
            dc.DEVICE_INFO: self._device_info,
            dc.DUPLICATE: self._duplicate,
            dc.LAST_DOCUMENT: lambda _: f"{self.engine.last_number:07d}".encode(),
        }

    def reader(self) -> CReader:
        return CReader()

    def ping_reply(self, busy: bool) -> bytes:
        return b""  # no ping in this protocol

    def execute(self, command: Command) -> bytes:
        request = command.message
        assert isinstance(request, dc.Request)
        handler = self._handlers.get(request.cmd)
        extra: set[str] = set()
        if handler is None:
            data, extra = b"", {"invalid_command"}
        else:
            try:
                data = handler(request)
            except BadParam:
                # The manual: a syntax error sets the bit and the answer has no data.
                data, extra = b"", {"syntax_error"}
            except Refused as exc:
                data = b"F" if request.cmd in _LETTER_ANSWERS else b""
                extra = {"command_not_permitted"}
                if exc.refusal is Refusal.OVERFLOW:
                    extra.add("overflow")
        return dc.encode_reply(dc.Reply(request.seq, request.cmd, data, self._status(extra)))

    def _status(self, extra: set[str]) -> bytes:
        flags = {"formatted", "fiscalised", "vat_set", "tax_number_set", "serial_and_fm_set", *extra}
        receipt = self.engine.open_receipt
        if receipt is not None:
            flags.add("fiscal_receipt_open")
            if receipt.kind == "storno":
                flags.add("storno_receipt_open")
        if self.engine.paper_out:
            flags.add("paper_end")  # the sensor: on every answer while the roll is empty
        if self.engine.fm_nearly_full:
            flags.add("fm_few_reports_left")
        if flags & dc.GENERAL_ERRORS:
            flags.add("general_error")
        return dc.encode_status(flags)

    def _counts(self, *, storno: bool = False, opening: bool = False) -> bytes:
        daily = self.engine.daily
        receipts = daily.storno_receipts if storno else daily.fiscal_receipts
        extra = 1 if opening else 0  # the receipt just opened counts as issued
        return f"{daily.documents + extra},{receipts + extra}".encode()

    # -- receipts -------------------------------------------------------------------------
    def _open(self, request: dc.Request) -> bytes:
        # <OpCode>,<OpPwd>,<TillNmb>[,<Invoice>] or <OpCode>,<OpPwd>,<NSale>,<TillNmb>[,<Invoice>]
        fields = request.fields(ENCODING)
        with_usn = len(fields) == 5 or (len(fields) == 4 and fields[3] != "I")
        if len(fields) not in (3, 4, 5):
            raise BadParam(len(fields) + 1, "expected 3 to 5 parameters")
        operator = str(parse_int(fields[0], 1, 1, 30))
        _password(fields[1], 2)
        usn = fields[2] if with_usn else ""
        if usn and not UNIQUE_SALE_NUMBER.fullmatch(usn):
            raise BadParam(3, f"not a unique sale number: {usn!r}")
        till = parse_int(fields[3 if with_usn else 2], 4 if with_usn else 3, 1, 99999)
        if len(fields) == (5 if with_usn else 4):
            raise BadParam(len(fields), "invoice receipts are not simulated", syntax=False)
        self.engine.open("sale", operator=operator, till=till, unique_sale_number=usn)
        return self._counts(opening=True)

    def _open_storno(self, request: dc.Request) -> bytes:
        # <OpCode>,<OpPwd>,<NSale>,<TillNmb>,<DocType>,<DocNumber>,<DocDateTime>,<FMNumber>
        fields = request.fields(ENCODING)
        operator = str(parse_int(need(fields, 1), 1, 1, 30))
        _password(need(fields, 2), 2)
        usn = need(fields, 3)
        if usn and not UNIQUE_SALE_NUMBER.fullmatch(usn):
            raise BadParam(3, f"not a unique sale number: {usn!r}")
        till = parse_int(need(fields, 4), 4, 1, 99999)
        reason = STORNO_REASONS[parse_int(need(fields, 5), 5, 0, 2)]
        document = parse_int(need(fields, 6), 6, 1, 9_999_999)
        at = parse_datetime(need(fields, 7), 7, "%d%m%y%H%M%S", "%d%m%y%H%M")
        fm_number = need(fields, 8)
        if not (fm_number.isdigit() and len(fm_number) == 8):
            raise BadParam(8, "fiscal memory number is 8 digits")
        if optional(fields, 9):
            raise BadParam(9, "invoice storno is not simulated", syntax=False)
        storno_of = StornoOf(reason, document, at.isoformat(), fm_number, usn)
        self.engine.open("storno", operator=operator, till=till, storno_of=storno_of)
        return self._counts(storno=True, opening=True)

    def _sale(self, request: dc.Request) -> bytes:
        # [<L1>][<Lf><L2>]<Tab><TaxCd><[Sign]Price>[*<Qwan>][,Perc|;Abs]
        text, tab, rest = request.data.decode(ENCODING, errors="replace").partition("\t")
        lines = text.split("\n")
        match = _SALE.fullmatch(rest)
        if not tab or match is None or len(lines) > 2 or any(len(line) > LINE for line in lines):
            raise BadParam(1, "not a sale")
        tax = match["tax"]
        groups = CYRILLIC_GROUPS if tax in CYRILLIC_GROUPS else TAX_GROUPS
        if tax not in groups:
            raise BadParam(2, f"no tax group {tax!r}", syntax=False)
        name = " ".join(line.strip() for line in lines if line.strip()) or "-"
        percent = parse_percent(match["perc"].lstrip("+"), 4) if match["perc"] else None
        amount = parse_amount(match["abs"].lstrip("+"), 4, negative=True) if match["abs"] else 0
        quantity = parse_quantity(match["qty"] or "1", 3)
        price = parse_amount(match["price"], 3, negative=True)
        self.engine.sale(name, TAX_GROUPS[groups.index(tax)], price, quantity, percent=percent, amount=amount)
        return b""

    def _subtotal(self, request: dc.Request) -> bytes:
        # <Print><Display>[,Perc|;Abs]: flags only; discounts on the subtotal are not simulated.
        if not re.fullmatch(rb"[01]{0,2}", request.data):
            raise BadParam(1, "subtotal discounts are not simulated")
        receipt = self.engine.subtotal()
        groups = receipt.group_totals()
        values = [receipt.total, *(groups[g] for g in TAX_GROUPS)]
        return ",".join(signed_minor(v, AMOUNT_WIDTH) for v in values).encode()

    def _payment(self, request: dc.Request) -> bytes:
        # [<Line1>][<Lf><Line2>]<Tab>[[<PaidMode>]<[Sign]Amount>][*<Type>]; nothing: all in cash.
        _, tab, rest = request.data.decode(ENCODING, errors="replace").partition("\t")
        match = _PAYMENT.fullmatch(rest)
        if (request.data and not tab) or match is None:
            raise BadParam(1, "not a payment")
        kind = PAID_MODES[match["mode"] or "P"]
        amount = parse_amount(match["amount"], 2) if match["amount"] else None
        due, change = self.engine.pay(kind, amount)
        return (
            f"D{signed_minor(due, AMOUNT_WIDTH)}" if due else f"R{signed_minor(change, AMOUNT_WIDTH)}"
        ).encode()

    def _comment(self, request: dc.Request) -> bytes:
        self.engine.comment(request.data.decode(ENCODING, errors="replace")[:TEXT])
        return b""

    def _close(self, request: dc.Request) -> bytes:
        storno = self.engine.close().kind == "storno"
        return self._counts(storno=storno)

    def _cancel(self, request: dc.Request) -> bytes:
        # "Allowed only in an open fiscal receipt, and before command 53 (Total)."
        self.engine.cancel(before_payment_only=True)
        return b""

    def _transaction(self, request: dc.Request) -> bytes:
        # [Option]: Open,Items,Amount[,Tender] (Tender with option T).
        option = request.data.decode(ENCODING, errors="replace")
        if option not in ("", "T"):
            raise BadParam(1, "option is T or nothing")
        state = self.engine.transaction()
        fields = ["1" if state.is_open else "0", str(state.items), signed_minor(state.amount, RECEIPT_WIDTH)]
        if option:
            fields.append(signed_minor(state.paid, RECEIPT_WIDTH))
        return ",".join(fields).encode()

    # -- day and device -------------------------------------------------------------------
    def _set_datetime(self, request: dc.Request) -> bytes:
        text = request.data.decode(ENCODING, errors="replace")
        self.engine.set_datetime(parse_datetime(text, 1, "%d-%m-%y %H:%M:%S", "%d-%m-%y %H:%M"))
        return b""

    def _report(self, request: dc.Request) -> bytes:
        option = request.data.decode(ENCODING, errors="replace") or "0"
        if option not in ("0", "2"):
            raise BadParam(1, "option is 0 (Z) or 2 (X)", syntax=False)
        report = self.engine.report(zeroing=option == "0")
        values = [report.total, *(report.sales[g] for g in TAX_GROUPS)]
        return ",".join([str(report.number), *(signed_minor(v, TOTAL_WIDTH) for v in values)]).encode()

    def _cash(self, request: dc.Request) -> bytes:
        text = request.data.decode(ENCODING, errors="replace")
        amount = parse_amount(text, 1, negative=True) if text else 0
        cash_sum, cash_in, cash_out = self.engine.cash(amount)
        values = (signed_minor(v, AMOUNT_WIDTH) for v in (cash_sum, cash_in, cash_out))
        return ",".join(["P", *values]).encode()

    def _device_info(self, request: dc.Request) -> bytes:
        # [*]<Calc>: Name,FwRev FwDate FwTime,Chk,Sw,Ser,FM
        calc = request.data.removeprefix(b"*")
        if calc not in (b"", b"0", b"1"):
            raise BadParam(1, "Calc is 0 or 1")
        ident = self.engine.identity
        firmware = f"{ident.firmware} {ident.firmware_date} {ident.firmware_time}"
        checksum = "5E2C" if calc == b"1" else "FFFF"
        fields = [ident.model, firmware, checksum, "00000000", ident.serial_number, ident.fm_number]
        return ",".join(fields).encode(ENCODING)

    def _duplicate(self, request: dc.Request) -> bytes:
        if request.data != b"1":
            raise BadParam(1, "the count is 1")
        self.engine.duplicate()
        return b""
