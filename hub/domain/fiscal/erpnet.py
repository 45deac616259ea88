"""ErpNet.FP's Net.FP JSON, decoded at the edge and mapped onto the hub's fiscal documents.

ErpNet.FP is the de facto HTTP server for Balkan fiscal printers; the hub serves its REST
surface so its clients can switch without a change. Amounts there are decimal numbers in
currency units ("unitPrice": 12.5), tax groups 1..8 and reversal reasons in kebab case; here
they become a :class:`FiscalReceipt` in minor units, with every rule checked before anything
is written: an amount with more decimals than the currency has is refused, never rounded.

Answers follow ErpNet's shapes: ``{ok, messages: [{type, code, text}], ...}`` with its
standardised codes (E1xx device, E2xx fiscal memory, E3xx printing, E4xx command, W... warnings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from hub.domain.errors import DomainError
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt, PaymentType

T = TypeVar("T")
MAX_MINOR = 999_999_999  # the largest amount Datecs and Tremol devices print (9 999 999.99)
MAX_QUANTITY = Decimal("99999.999")
TAX_LETTERS = "ABCDEFGH"
# ErpNet's payment types the hub can record as they are; the others (packaging, damage, bank ...)
# have no payment type of ours, and booking them as "other" would misreport the day's payments.
PAYMENT_TYPES: dict[str, PaymentType] = {
    "cash": "cash",
    "check": "check",
    "card": "card",
    "coupons": "voucher",
}
REVERSAL_REASONS: dict[str, Literal["operator_error", "refund", "tax_base_reduction"]] = {
    "operator-error": "operator_error", "refund": "refund",
    "tax-base-reduction": "tax_base_reduction", "taxbase-reduction": "tax_base_reduction",
}  # fmt: skip

Text = Annotated[str, msgspec.Meta(max_length=256)]
Operator = Annotated[str, msgspec.Meta(max_length=8)]


class ErpNetError(DomainError):
    """A request refused before anything was written; ``code`` is ErpNet's (E401, E407 ...)."""

    status = 422


# -- request bodies (unknown fields are ignored, as ErpNet.FP does: its clients send extras) --


class Item(msgspec.Struct, kw_only=True, rename="camel"):
    type: Literal["sale", "comment", "footer-comment", "discount-amount", "surcharge-amount"] = "sale"
    text: Text = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    tax_group: Annotated[int, msgspec.Meta(ge=1, le=8)] | None = None
    department: Annotated[int, msgspec.Meta(ge=0, le=99)] = 0
    item_code: int = 999
    amount: Decimal | None = None
    price_modifier_value: Decimal | None = None
    price_modifier_type: Literal[
        "none", "discount-percent", "discount-amount", "surcharge-percent", "surcharge-amount"
    ] = "none"


class Payment(msgspec.Struct, kw_only=True, rename="camel"):
    payment_type: Literal[
        "cash", "check", "coupons", "ext-coupons", "packaging", "internal-usage", "damage", "card", "bank",
        "reserved1", "reserved2", "change",
    ] = "cash"  # fmt: skip
    amount: Decimal | None = None  # none: what is still due


class ReceiptBody(msgspec.Struct, kw_only=True, rename="camel"):
    unique_sale_number: Annotated[str, msgspec.Meta(max_length=32)] = ""
    operator: Operator = ""
    # Accepted and dropped: the hub signs in with the operator configured for the device, and
    # a password has no place in the durable journal.
    operator_password: Annotated[str, msgspec.Meta(max_length=32)] = ""
    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=500)]
    payments: Annotated[list[Payment], msgspec.Meta(max_length=20)] = []


class ReversalBody(ReceiptBody, kw_only=True):
    receipt_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,10}$")]
    receipt_date_time: dt.datetime
    fiscal_memory_serial_number: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    reason: Literal["operator-error", "refund", "tax-base-reduction", "taxbase-reduction"] = "operator-error"


class TransferBody(msgspec.Struct, kw_only=True, rename="camel"):
    amount: Decimal
    operator: Operator = ""
    operator_password: Annotated[str, msgspec.Meta(max_length=32)] = ""


# -- answers ---------------------------------------------------------------------------------


class Message(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: Literal["info", "warning", "error"]
    code: str | None = None
    text: str


class Answer(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """ErpNet's status answer, with the receipt's fields when it printed one."""

    ok: bool
    messages: list[Message]
    receipt_number: str | None = None
    receipt_date_time: str | None = None
    receipt_amount: Decimal | None = None
    fiscal_memory_serial_number: str | None = None


def refused(code: str, text: str) -> Answer:
    return Answer(ok=False, messages=[Message(type="error", code=code, text=text)])


# -- decoding ----------------------------------------------------------------------------------


def _validation_code(path: str, reason: str) -> str:
    if path == "$.items" or "`items`" in reason:
        return "E410"  # no items (or no list of them)
    if path.startswith("$.items") and path.endswith(".taxGroup"):
        return "E411"  # invalid tax group
    if path.startswith("$.items"):
        return "E407"  # invalid item
    if path.startswith("$.payments"):
        return "E406"  # invalid payment
    return "E401"  # syntax error


def decode(raw: bytes, body_type: type[T]) -> T:
    """The body as ``body_type``; :class:`ErpNetError` (400/422, E4xx) when it is not one."""
    try:
        return msgspec.json.decode(raw or b"{}", type=body_type)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rsplit("- at `", 1)[1].rstrip("`") if "- at `" in text else "$"
        raise ErpNetError(_validation_code(path, text), f"invalid request body: {text}") from None
    except msgspec.DecodeError as exc:
        raise ErpNetError("E401", f"the request body is not valid JSON: {exc}", status=400) from None


def to_minor(value: Decimal, exponent: int, where: str) -> int:
    """Currency units to minor units; more decimals than the currency has is an error (E403)."""
    if not value.is_finite():
        raise ErpNetError("E403", f"{where}: {value} is not an amount")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ErpNetError("E403", f"{where}: {value} has more than {exponent} decimal(s)")
    if abs(minor) > MAX_MINOR:
        raise ErpNetError("E403", f"{where}: {value} is larger than a fiscal device can print")
    return int(minor)


def _round(value: Decimal) -> int:
    # Half up, as fiscal devices round a line's price times quantity and percentage discounts.
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _quantity(item: Item, where: str) -> Decimal:
    quantity = Decimal(1) if item.quantity is None else item.quantity  # omitted means one
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ErpNetError("E407", f"{where}.quantity: {item.quantity} is not a quantity above zero")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ErpNetError("E407", f"{where}.quantity: {item.quantity} has more than 3 decimals")
    return quantity


def _line_discount(item: Item, base: int, exponent: int, where: str) -> int:
    """The line's discount in minor units; a surcharge is a negative discount."""
    kind, value = item.price_modifier_type, item.price_modifier_value
    if kind == "none" or value is None:
        return 0
    # Decimal takes "NaN" and "Infinity" (JSON strings): refused before any comparison.
    if not value.is_finite() or value < 0:
        raise ErpNetError("E407", f"{where}.priceModifierValue: {value} is not an amount of zero or more")
    if kind.endswith("-percent"):
        if value > 100 or value != value.quantize(Decimal("0.01")):
            raise ErpNetError("E407", f"{where}.priceModifierValue: {value} is not a percentage 0..100")
        amount = _round(Decimal(base) * value / 100)
    else:
        amount = to_minor(value, exponent, f"{where}.priceModifierValue")
    if kind.startswith("surcharge"):
        return -amount
    if amount > base:
        raise ErpNetError("E407", f"{where}: the discount is larger than the line")
    return amount


def _sale_item(item: Item, exponent: int, rates: Mapping[str, str], where: str) -> FiscalItem:
    name = " ".join(item.text.split())
    if not name:
        raise ErpNetError("E407", f"{where}.text: an item needs a name")
    if item.tax_group is None:
        raise ErpNetError("E411", f"{where}.taxGroup: an item needs a tax group 1..8")
    if item.unit_price is None or not item.unit_price.is_finite() or item.unit_price < 0:
        raise ErpNetError("E407", f"{where}.unitPrice: an item needs a unit price of zero or more")
    if item.department:
        raise ErpNetError("E412", f"{where}.department: departments are not supported; use taxGroup")
    quantity = _quantity(item, where)
    unit_price = to_minor(item.unit_price, exponent, f"{where}.unitPrice")
    base = _round(unit_price * quantity)
    if base <= 0:
        raise ErpNetError("E407", f"{where}: price times quantity is zero")
    discount = _line_discount(item, base, exponent, where)
    total = base - discount
    if total > MAX_MINOR:
        raise ErpNetError("E403", f"{where}: the line is larger than a fiscal device can print")
    letter = TAX_LETTERS[item.tax_group - 1]
    return FiscalItem(
        name=name, quantity=f"{quantity.normalize():f}", unit_price=unit_price, total=total,
        # The device applies its own rate to the group; the rate is kept for the record only.
        tax_group=letter, tax_rate=rates.get(letter, "0"), discount=discount,
    )  # fmt: skip


def _payments(body: ReceiptBody, total: int, exponent: int, *, refund: bool) -> list[FiscalPayment]:
    if not body.payments:
        return [FiscalPayment(type="cash", amount=total)]  # ErpNet: no payments means cash
    payments: list[FiscalPayment] = []
    paid = 0
    for index, payment in enumerate(body.payments):
        where = f"payments[{index}]"
        if payment.payment_type == "change":
            continue  # ErpNet's balancing entry for change; never sent to a device
        kind = PAYMENT_TYPES.get(payment.payment_type)
        if kind is None:
            raise ErpNetError("E406", f"{where}.paymentType: {payment.payment_type!r} is not supported "
                                      f"(use one of {', '.join(PAYMENT_TYPES)})")  # fmt: skip
        amount = (
            total - paid if payment.amount is None else to_minor(payment.amount, exponent, f"{where}.amount")
        )
        if amount <= 0:
            raise ErpNetError("E406", f"{where}.amount: nothing left to pay")
        payments.append(FiscalPayment(type=kind, amount=amount))
        paid += amount
    if paid < total:
        raise ErpNetError("E406", f"the payments cover {paid} of {total} (minor units)")
    if refund and paid > total:
        raise ErpNetError("E406", "a reversal receipt cannot give change: pay exactly its amount")
    return payments


def _device_wall_time(moment: dt.datetime) -> str:
    """A time as the device's clock shows it: local wall time, no zone."""
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def receipt_request(
    body: ReceiptBody, *, request_id: str, exponent: int, rates: Mapping[str, str], at: str
) -> FiscalReceipt:
    """The fiscal receipt (a sale, or a refund for a :class:`ReversalBody`) of an ErpNet body."""
    items: list[FiscalItem] = []
    comments: list[str] = []
    for index, item in enumerate(body.items):
        where = f"items[{index}]"
        if item.type in ("comment", "footer-comment"):
            # Both go after the payments: the hub's drivers print comments at the receipt's end.
            if item.text.strip():
                comments.append(item.text.strip())
        elif item.type == "sale":
            items.append(_sale_item(item, exponent, rates, where))
        else:
            raise ErpNetError("E412", f"{where}.type: subtotal modifiers ({item.type}) are not supported")
    if not items:
        raise ErpNetError("E410", "the receipt has no sale items")
    if len(comments) > 20:
        raise ErpNetError("E407", "a receipt takes at most 20 comments")
    total = sum(item.total for item in items)
    if total <= 0 or total > MAX_MINOR:
        raise ErpNetError("E403", "the receipt's total is not an amount a fiscal device can print")
    reversal = body if isinstance(body, ReversalBody) else None
    return FiscalReceipt(
        request_id=request_id,
        kind="refund" if reversal else "sale",
        number=body.unique_sale_number or request_id,
        at=at,
        cashier=body.operator or "erpnet",
        operator=body.operator or "1",
        items=items,
        payments=_payments(body, total, exponent, refund=reversal is not None),
        total=total,
        comments=comments,
        currency_exponent=exponent,
        unique_sale_number=body.unique_sale_number,
        refund_of_number=reversal.receipt_number if reversal else "",
        refund_of_at=_device_wall_time(reversal.receipt_date_time) if reversal else "",
        refund_reason=REVERSAL_REASONS[reversal.reason] if reversal else "refund",
    )


def cash_request(body: TransferBody, *, exponent: int, withdraw: bool) -> dict[str, Any]:
    """``{"amount": n}`` for the queue: positive cash in, negative cash out, minor units."""
    amount = to_minor(body.amount, exponent, "amount")
    if amount <= 0:
        raise ErpNetError("E403", "amount: must be above zero")
    return {"amount": -amount if withdraw else amount}


def check_task_id(task_id: str) -> str:
    """A caller's taskId: ErpNet.FP allows up to 60 printable characters (E110 otherwise)."""
    if not 0 < len(task_id) <= 60 or not task_id.isprintable():
        raise ErpNetError("E110", "taskId must be 1 to 60 printable characters", status=400)
    return task_id


# Device conditions (drivers.base.DeviceHealth) as ErpNet's standard codes.
_CONDITIONS: dict[str, tuple[Literal["warning", "error"], str, str]] = {
    "paper_out": ("error", "E301", "Out of paper"),
    "cover_open": ("error", "E302", "Printer cover open"),
    "paper_near_end": ("warning", "W301", "Near end of paper"),
    "fiscal_memory_full": ("error", "E201", "Fiscal memory is full"),
    "fiscal_memory_nearly_full": ("warning", "W201", "Fiscal memory near full"),
    "journal_full": ("error", "E206", "Electronic journal is full"),
    "journal_nearly_full": ("warning", "W202", "Electronic journal near full"),
    "clock_not_set": ("error", "E103", "Date and time not set"),
}


def status_answer(state: str, conditions: tuple[str, ...], detail: str) -> Answer:
    """ErpNet's status answer for what the device's owner last saw of it (never a new request)."""
    messages: list[Message] = []
    if state == "offline":
        messages.append(
            Message(type="error", code="E101", text=f"Device not responding: {detail}".rstrip(": "))
        )
    for condition in conditions:
        kind, code, text = _CONDITIONS.get(condition, ("warning", "W399", condition.replace("_", " ")))
        messages.append(Message(type=kind, code=code, text=text))
    if state == "error" and not any(m.type == "error" for m in messages):
        messages.append(Message(type="error", code="E199", text=detail or "device error"))
    return Answer(ok=not any(m.type == "error" for m in messages), messages=messages)
