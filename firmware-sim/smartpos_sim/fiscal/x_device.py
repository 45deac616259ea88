"""Datecs X (FP-700X family) on the fiscal engine: the device side of ``datecs_x_commands``.

Each answer is ``ErrorCode<TAB>`` then the command's fields, each followed by TAB; the status
bytes say the same thing in bits. Error codes are the device's own (Datecs X error table, as
reproduced in edabg/fpgate ``FDExceptionDatecsX``):

* -111015 receipt is opened (open while open) / -111016 receipt is closed (needs an open one)
* -111018 payment is initiated (sale after a payment) / -111020 no transactions
* -111050 payment is not initiated / -111064 sum smaller than the receipt (close too early)
* -111003 operation not possible (pay a paid receipt; a second duplicate)
* -111017 no cash / -111021 possible negative turnover / -111030 quantity x price is 0
* -111047 fiscal receipt is opened / -111067 storno receipt is opened (report, cash, duplicate)
* -111068 sum not entered / -111094 storno payment cannot have change
* -100009 nothing to print / -112003 register overflow / -112006 no paper
* -1121NN invalid syntax of parameter NN / -1122NN bad value of parameter NN

Refusals also set "command not permitted" (1.1), a syntax error sets 0.0, an unknown command
gets empty DATA with 0.1 set (as the manual says); 0.5 is the OR of the '#' errors.
"""

from __future__ import annotations

from collections.abc import Callable

from protocols.fiscal import datecs_x as dx
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
    format_amount,
    need,
    optional,
    parse_amount,
    parse_datetime,
    parse_int,
    parse_percent,
    parse_quantity,
)

DATETIME = "%d-%m-%y %H:%M:%S"
TEXT_WIDTH = 46  # PrintColumns - 2 on a 48-column FP-700X
PAID_MODES = ("cash", "credit_card", "debit_card", "other_3", "other_4", "other_5")
ERRORS: dict[Refusal, int] = {
    Refusal.ALREADY_OPEN: -111015,
    Refusal.RECEIPT_OPEN: -111047,
    Refusal.RECEIPT_CLOSED: -111016,
    Refusal.PAYMENT_STARTED: -111018,
    Refusal.NO_SALES: -111020,
    Refusal.PAYMENT_NOT_STARTED: -111050,
    Refusal.NOT_PAID: -111064,
    Refusal.FULLY_PAID: -111003,
    Refusal.STORNO_CHANGE: -111094,
    Refusal.NEGATIVE_TURNOVER: -111021,
    Refusal.ZERO_SALE: -111030,
    Refusal.ZERO_PAYMENT: -111068,
    Refusal.NO_CASH: -111017,
    Refusal.OVERFLOW: -112003,
    Refusal.PAPER_OUT: -112006,
    Refusal.NOTHING_TO_PRINT: -100009,
    Refusal.DUPLICATE_PRINTED: -111003,
}
GENERAL = frozenset({"syntax_error", "invalid_command", "mechanism_fault", "overflow",
                     "command_not_permitted", "paper_end"})  # fmt: skip

Answer = list[str | bytes]


class XReader:
    """The X device parser, its items normalised for the link."""

    def __init__(self) -> None:
        self._parser = dx.DeviceParser()

    def feed(self, data: bytes) -> list[Incoming]:
        out: list[Incoming] = []
        for item in self._parser.feed(data):
            if isinstance(item, dx.Request):
                out.append(Command(item.seq, item.cmd, item))
            elif "outside a frame" in item.reason:
                out.append(Noise(item.reason))
            else:
                out.append(Damaged(item.reason))
        return out


def _password(text: str, index: int) -> str:
    if not (text.isdigit() and 1 <= len(text) <= 8):
        raise BadParam(index, "operator password is 1 to 8 digits")
    return text


class DatecsXDevice:
    """The command set of ``protocols.fiscal.datecs_x_commands``, answered from the engine."""

    name = "datecs-x"
    nak = bytes((dx.NAK,))
    busy = bytes((dx.SYN,))

    def __init__(self, engine: FiscalEngine) -> None:
        self.engine = engine
        self._handlers: dict[int, Callable[[list[str]], Answer]] = {
            dx.OPEN_RECEIPT: self._open,
            dx.OPEN_STORNO: self._open_storno,
            dx.SALE: self._sale,
            dx.SUBTOTAL: self._subtotal,
            dx.PAYMENT: self._payment,
            dx.COMMENT: self._comment,
            dx.CLOSE_RECEIPT: lambda _: [str(self.engine.close().number)],
            dx.CANCEL_RECEIPT: self._cancel,
            dx.SET_DATETIME: self._set_datetime,
            dx.GET_DATETIME: lambda _: [self.engine.now().strftime(DATETIME)],
            dx.REPORT: self._report,
            dx.CASH_IN_OUT: self._cash,
            dx.STATUS: lambda _: [self._status(set())],
            dx.TRANSACTION_STATUS: self._transaction,
            dx.DEVICE_INFO: self._device_info,
            dx.DUPLICATE: self._duplicate,
        }

    def reader(self) -> XReader:
        return XReader()

    def ping_reply(self, busy: bool) -> bytes:
        return b""  # the X protocol has no ping

    def execute(self, command: Command) -> bytes:
        request = command.message
        assert isinstance(request, dx.Request)
        handler = self._handlers.get(request.cmd)
        extra: set[str] = set()
        if handler is None:
            data = b""
            extra.add("invalid_command")
        else:
            try:
                data = _join(["0", *handler(request.fields())])
            except BadParam as exc:
                base = 112100 if exc.syntax else 112200
                data = _join([str(-(base + min(exc.index, 99)))])
                extra.add("syntax_error")
            except Refused as exc:
                data = _join([str(self._error_code(exc.refusal))])
                extra.add("command_not_permitted")
                if exc.refusal is Refusal.OVERFLOW:
                    extra.add("overflow")
        return dx.encode_reply(dx.Reply(request.seq, request.cmd, data, self._status(extra)))

    def _error_code(self, refusal: Refusal) -> int:
        receipt = self.engine.open_receipt
        if refusal is Refusal.RECEIPT_OPEN and receipt is not None and receipt.kind == "storno":
            return -111067
        return ERRORS[refusal]

    def _status(self, extra: set[str]) -> bytes:
        # Always on for a fiscalised device; the rest follow its state and this command.
        flags = {"formatted", "fiscalised", "vat_set", *extra}
        if self.engine.open_receipt is not None:
            flags.add("fiscal_receipt_open")
        if self.engine.paper_out:
            flags.add("paper_end")  # the sensor: set on every answer while the roll is empty
        if self.engine.fm_nearly_full:
            flags.add("fm_few_reports_left")
        if flags & GENERAL:
            flags.add("general_error")
        return dx.encode_status(flags)

    # -- receipts -------------------------------------------------------------------------
    def _open(self, fields: list[str]) -> Answer:
        # Syntax 1: OpCode, OpPwd, TillNmb, Invoice; syntax 2 adds NSale after OpPwd.
        if len(fields) == 5:
            usn = fields[2]
            if not UNIQUE_SALE_NUMBER.fullmatch(usn):
                raise BadParam(3, f"not a unique sale number: {usn!r}")
        elif len(fields) == 4:
            usn = ""
        else:
            raise BadParam(min(len(fields) + 1, 6), "expected 4 or 5 parameters")
        operator = str(parse_int(fields[0], 1, 1, 30))
        _password(fields[1], 2)
        till = parse_int(fields[-2], len(fields) - 1, 1, 99999)
        if fields[-1] != "":
            raise BadParam(len(fields), "invoice receipts are not simulated", syntax=False)
        receipt = self.engine.open("sale", operator=operator, till=till, unique_sale_number=usn)
        return [str(receipt.number)]

    def _open_storno(self, fields: list[str]) -> Answer:
        operator = str(parse_int(need(fields, 1), 1, 1, 30))
        _password(need(fields, 2), 2)
        till = parse_int(need(fields, 3), 3, 1, 99999)
        reason = STORNO_REASONS[parse_int(need(fields, 4), 4, 0, 2)]
        document = parse_int(need(fields, 5), 5, 1, 9_999_999)
        at = parse_datetime(need(fields, 6), 6, DATETIME)
        fm_number = need(fields, 7)
        if not (fm_number.isdigit() and len(fm_number) == 8):
            raise BadParam(7, "fiscal memory number is 8 digits")
        if optional(fields, 8):
            raise BadParam(8, "invoice storno is not simulated", syntax=False)
        usn = optional(fields, 11)
        if usn and not UNIQUE_SALE_NUMBER.fullmatch(usn):
            raise BadParam(11, f"not a unique sale number: {usn!r}")
        storno_of = StornoOf(reason, document, at.isoformat(), fm_number, usn)
        receipt = self.engine.open("storno", operator=operator, till=till, storno_of=storno_of)
        return [str(receipt.number)]

    def _sale(self, fields: list[str]) -> Answer:
        name = need(fields, 1).strip()
        if not 1 <= len(name) <= 72:
            raise BadParam(1, "the name is 1 to 72 characters")
        group = TAX_GROUPS[parse_int(need(fields, 2), 2, 1, 8) - 1]
        price = parse_amount(need(fields, 3), 3, negative=True)
        quantity = parse_quantity(optional(fields, 4, "1.000"), 4)
        kind = parse_int(optional(fields, 5, "0"), 5, 0, 4)
        percent, amount = None, 0
        if kind:
            value = need(fields, 6)
            if kind in (1, 2):
                percent = parse_percent(value, 6) * (1 if kind == 1 else -1)
            else:
                amount = parse_amount(value, 6) * (1 if kind == 3 else -1)
        parse_int(optional(fields, 7, "0"), 7, 0, 99)
        if len(optional(fields, 8)) > 6:
            raise BadParam(8, "the unit is at most 6 characters", syntax=False)
        self.engine.sale(name, group, price, quantity, percent=percent, amount=amount)
        return [str(self.engine.last_number)]

    def _subtotal(self, fields: list[str]) -> Answer:
        for index in (1, 2):
            parse_int(optional(fields, index, "0"), index, 0, 1)
        if optional(fields, 3, "0") != "0":
            raise BadParam(3, "subtotal discounts are not simulated", syntax=False)
        receipt = self.engine.subtotal()
        groups = receipt.group_totals()
        return [
            str(receipt.number),
            format_amount(receipt.total),
            *(format_amount(groups[g]) for g in TAX_GROUPS),
        ]

    def _payment(self, fields: list[str]) -> Answer:
        mode = parse_int(need(fields, 1), 1, 0, 6)
        if mode == 6:
            raise BadParam(1, "foreign currency is not simulated", syntax=False)
        amount = parse_amount(need(fields, 2), 2)
        due, change = self.engine.pay(PAID_MODES[mode], amount)
        return ["D", format_amount(due)] if due else ["R", format_amount(change)]

    def _comment(self, fields: list[str]) -> Answer:
        text = need(fields, 1)
        if len(text) > TEXT_WIDTH:
            raise BadParam(1, f"at most {TEXT_WIDTH} characters", syntax=False)
        self.engine.comment(text)
        return []

    def _cancel(self, fields: list[str]) -> Answer:
        # Cancels only an open receipt: once closed, the receipt is fiscal and stays.
        self.engine.cancel()
        return []

    def _transaction(self, fields: list[str]) -> Answer:
        state = self.engine.transaction()
        # IsOpen: 0 closed, 1 sale receipt, 2/3/4 storno for operator error/refund/tax base.
        is_open = 0
        if state.is_open:
            is_open = 1 if state.kind == "sale" else 2 + STORNO_REASONS.index(state.storno_reason or "refund")
        return [
            str(is_open),
            str(state.number),
            str(state.items),
            format_amount(state.amount),
            format_amount(state.paid),
        ]

    # -- day and device -------------------------------------------------------------------
    def _set_datetime(self, fields: list[str]) -> Answer:
        self.engine.set_datetime(parse_datetime(need(fields, 1), 1, DATETIME))
        return []

    def _report(self, fields: list[str]) -> Answer:
        kind = need(fields, 1)
        if kind not in ("X", "Z"):
            raise BadParam(1, "only X and Z reports are simulated", syntax=False)
        report = self.engine.report(zeroing=kind == "Z")
        return [
            str(report.number),
            *(format_amount(report.sales[g]) for g in TAX_GROUPS),
            *(format_amount(report.storno[g]) for g in TAX_GROUPS),
        ]

    def _cash(self, fields: list[str]) -> Answer:
        kind = parse_int(need(fields, 1), 1, 0, 3)
        if kind > 1:
            raise BadParam(1, "foreign currency is not simulated", syntax=False)
        amount = parse_amount(optional(fields, 2, "0"), 2)
        cash_sum, cash_in, cash_out = self.engine.cash(-amount if kind == 1 else amount)
        return [format_amount(cash_sum), format_amount(cash_in), format_amount(cash_out)]

    def _device_info(self, fields: list[str]) -> Answer:
        calc = parse_int(optional(fields, 1, "0"), 1, 0, 1)
        ident = self.engine.identity
        return [ident.model, ident.firmware, ident.firmware_date, ident.firmware_time,
                "5E2C" if calc else "FFFF", "00000000", ident.serial_number, ident.fm_number]  # fmt: skip

    def _duplicate(self, fields: list[str]) -> Answer:
        # The FP-700X manual lists no parameter; the hub sends "1" (as the older models take).
        parse_int(optional(fields, 1, "1"), 1, 1, 1)
        self.engine.duplicate()
        return []


def _join(fields: Answer) -> bytes:
    """Answer DATA: each field followed by TAB; raw bytes (the status bytes) go as they are."""
    out = bytearray()
    for field in fields:
        out += (field if isinstance(field, bytes) else field.encode("cp1251", errors="replace")) + b"\t"
    return bytes(out)
