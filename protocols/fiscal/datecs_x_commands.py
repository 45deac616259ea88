"""The Datecs X commands the hub sends, and the answers it reads, as typed values.

Field layouts follow the Datecs programmer's manual for the X-protocol models (FP-700X, DP-150X,
FMP-350X ...): every parameter is followed by TAB, an optional one may be empty but keeps its
TAB, and every answer starts with ``ErrorCode``. Amounts go over the wire as decimal text with
the currency's decimals ("12.50"), quantities with three ("1.000"); here they are integers in
minor units and decimal strings, as the hub keeps them.

Each builder returns ``(cmd, data)`` for :class:`protocols.fiscal.datecs_x.Request`; each parser
takes a :class:`protocols.fiscal.datecs_x.Reply` and raises :class:`FrameError` when the answer
does not have the fields the command promises.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from protocols.fiscal import datecs_x as dx
from protocols.fiscal.errors import FieldError, FrameError

Command = tuple[int, bytes]

TAX_CODES = {letter: str(index) for index, letter in enumerate("ABCDEFGH", start=1)}
# PaidMode of command 53: 0 cash, 1 credit card, 2 debit card, 3..5 other payment types.
PAID_MODES = {"cash": "0", "card": "1", "check": "3", "voucher": "4", "credit": "5", "other": "5"}
STORNO_REASONS = {"operator_error": "0", "refund": "1", "tax_base_reduction": "2"}
MAX_NAME = 72


def money(minor: int, exponent: int = 2) -> str:
    """Minor units as the device's decimal text: 1250 -> "12.50"."""
    sign = "-" if minor < 0 else ""
    value = abs(minor)
    if exponent == 0:
        return f"{sign}{value}"
    return f"{sign}{value // 10**exponent}.{value % 10**exponent:0{exponent}d}"


def parse_money(text: str, exponent: int = 2) -> int:
    """The device's decimal text in minor units; raises :class:`FrameError`."""
    try:
        value = Decimal(text.strip()) * 10**exponent
    except InvalidOperation:
        raise FrameError(f"not an amount: {text!r}") from None
    if value != value.to_integral_value():
        raise FrameError(f"amount {text!r} has more than {exponent} decimals")
    return int(value)


def _quantity(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError(f"not a quantity: {text!r}") from None
    return f"{value:.3f}"


def printable(text: str, encoding: str) -> str:
    """``text`` with every character the device's code page lacks replaced by its base letter
    (Ć -> C) or ``?``: a receipt line is never refused for one letter."""
    out = []
    for char in text:
        try:
            char.encode(encoding)
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(base[:1] or "?")
    return "".join(out)


def _name(text: str, encoding: str) -> str:
    name = printable(" ".join(text.split()), encoding)[:MAX_NAME]
    if not name:
        raise FieldError("an item needs a name")
    return name


def open_receipt(operator: str, password: str, till: int, unique_sale_number: str = "") -> Command:
    """48: open a fiscal receipt (syntax 2, with the unique sale number, when one is given)."""
    if unique_sale_number:
        return dx.OPEN_RECEIPT, dx.params(operator, password, unique_sale_number, till, "")
    return dx.OPEN_RECEIPT, dx.params(operator, password, till, "")


def open_storno(
    operator: str,
    password: str,
    till: int,
    *,
    reason: Literal["operator_error", "refund", "tax_base_reduction"],
    document_number: int,
    document_time: str,
    fm_number: str,
    unique_sale_number: str = "",
) -> Command:
    """43: open a storno (refund) receipt referring to the original fiscal document."""
    return dx.OPEN_STORNO, dx.params(
        operator, password, till, STORNO_REASONS[reason], document_number, document_time, fm_number,
        "", "", "", unique_sale_number,
    )  # fmt: skip


def sale(
    name: str,
    tax_group: str,
    unit_price: int,
    quantity: str,
    *,
    discount: int = 0,
    department: int = 0,
    unit: str = "",
    exponent: int = 2,
    encoding: str = "cp1251",
) -> Command:
    """49: register a sale; a line discount goes as "discount by sum" (type 4), a negative one
    (a surcharge) as "surcharge by sum" (type 3): the device takes no negative value there."""
    if tax_group not in TAX_CODES:
        raise FieldError(f"tax group {tax_group!r} is not one of A..H")
    discount_type, discount_value = "", ""
    if discount:
        discount_type, discount_value = ("4" if discount > 0 else "3"), money(abs(discount), exponent)
    fields: list[object] = [_name(name, encoding), TAX_CODES[tax_group], money(unit_price, exponent), _quantity(quantity),
                            discount_type, discount_value, department]  # fmt: skip
    if unit:
        fields.append(printable(unit, encoding)[:6])
    return dx.SALE, dx.params(*fields, encoding=encoding)


def subtotal() -> Command:
    """51: subtotal without printing it."""
    return dx.SUBTOTAL, dx.params("0", "0", "", "")


def payment(kind: str, amount: int, exponent: int = 2) -> Command:
    """53: a payment of ``kind`` (cash, card, ...)."""
    return dx.PAYMENT, dx.params(PAID_MODES.get(kind, "5"), money(amount, exponent), "")


def comment(text: str, width: int = 40, encoding: str = "cp1251") -> Command:
    """54: a free text line inside the fiscal receipt."""
    line = printable(" ".join(text.split()), encoding)[: width - 2]
    return dx.COMMENT, dx.params(line, "", "", "", "", "", encoding=encoding)


def close_receipt() -> Command:
    return dx.CLOSE_RECEIPT, b""


def cancel_receipt() -> Command:
    return dx.CANCEL_RECEIPT, b""


def report(kind: Literal["X", "Z"]) -> Command:
    return dx.REPORT, dx.params(kind)


def cash_in_out(amount: int, exponent: int = 2) -> Command:
    """70: cash in (amount > 0) or out (amount < 0)."""
    return dx.CASH_IN_OUT, dx.params("1" if amount < 0 else "0", money(abs(amount), exponent))


def transaction_status() -> Command:
    return dx.TRANSACTION_STATUS, b""


def device_info() -> Command:
    return dx.DEVICE_INFO, dx.params("1")


def read_status() -> Command:
    return dx.STATUS, b""


def duplicate() -> Command:
    """109: a duplicate of the last receipt (no parameter in the X protocol)."""
    return dx.DUPLICATE, b""


def get_datetime() -> Command:
    return dx.GET_DATETIME, b""


def set_datetime(device_time: str) -> Command:
    """61: ``device_time`` as "DD-MM-YY hh:mm:ss" (plus " DST" in summer time)."""
    return dx.SET_DATETIME, dx.params(device_time)


# --- answers ----------------------------------------------------------------------------------


def _ok_fields(reply: dx.Reply, count: int) -> list[str]:
    fields = reply.fields()
    if len(fields) < count:
        raise FrameError(f"answer to {reply.cmd:#04x} has {len(fields)} field(s), expected {count}")
    return fields


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FrameError(f"{what} is not a number: {text!r}") from None


def slip_number(reply: dx.Reply) -> int:
    """The receipt number in the answer to 48, 43, 49 or 56."""
    return _int(_ok_fields(reply, 2)[1], "slip number")


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """Answer to 76: whether a receipt (sale or storno) is open, its number, how many items and
    how much is paid."""

    is_open: bool
    number: int
    items: int
    amount: int
    paid: int


def parse_transaction_status(reply: dx.Reply, exponent: int = 2) -> TransactionStatus:
    fields = _ok_fields(reply, 6)
    return TransactionStatus(
        # 0 closed, 1 a sale receipt, 2..4 a storno receipt (by its reason), 5 non-fiscal.
        is_open=fields[1] in ("1", "2", "3", "4"),
        number=_int(fields[2], "receipt number"),
        items=_int(fields[3], "item count"),
        amount=parse_money(fields[4], exponent),
        paid=parse_money(fields[5], exponent),
    )


@dataclass(frozen=True, slots=True)
class PaymentAnswer:
    """Answer to 53: ``due`` left to pay ("D") or ``change`` to give ("R")."""

    outcome: Literal["D", "R"]
    amount: int


def parse_payment(reply: dx.Reply, exponent: int = 2) -> PaymentAnswer:
    fields = _ok_fields(reply, 3)
    if fields[1] not in ("D", "R"):
        raise FrameError(f"payment status {fields[1]!r} is neither D nor R")
    return PaymentAnswer(outcome=fields[1], amount=parse_money(fields[2], exponent))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Answer to 90: model name, firmware, serial number and fiscal memory number."""

    name: str
    firmware: str
    serial_number: str
    fm_number: str


def parse_device_info(reply: dx.Reply) -> DeviceInfo:
    fields = _ok_fields(reply, 9)
    return DeviceInfo(name=fields[1], firmware=fields[2], serial_number=fields[7], fm_number=fields[8])


@dataclass(frozen=True, slots=True)
class ReportAnswer:
    """Answer to 69: the report's number and the totals per tax group (sales and storno)."""

    number: int
    totals: dict[str, int]
    storno: dict[str, int]


def parse_report(reply: dx.Reply, exponent: int = 2) -> ReportAnswer:
    fields = _ok_fields(reply, 18)
    letters = "ABCDEFGH"
    return ReportAnswer(
        number=_int(fields[1], "report number"),
        totals={g: parse_money(fields[2 + i], exponent) for i, g in enumerate(letters)},
        storno={g: parse_money(fields[10 + i], exponent) for i, g in enumerate(letters)},
    )


def parse_datetime(reply: dx.Reply) -> str:
    return _ok_fields(reply, 2)[1]
