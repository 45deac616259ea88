"""Infocodes and sales targets (seed 001), as the hub applies them and the cloud authors them.

The hub's API takes these same types; the cloud validates config items against them, so a
body the cloud accepts is one the hub can apply.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec

# --- infocodes ---

Trigger = Literal[
    "SELL_PRODUCT", "SELL_DPT", "SELL_GRP", "RECEIPT_START", "RECEIPT_END", "SUBTOTAL", "RECEIPT_TRASH",
    "RECEIPT_REFUND", "REFUND", "OPEN_PRICE", "SCHEDULED", "RECEIPT_COMMENT", "TENDER",
    "EXTERNAL_PRODUCT", "EXTERNAL_PAYMENT", "EXTERNAL_DISCOUNT",
]  # fmt: skip
InputType = Literal[
    "text", "textfunctionlist", "date", "numeric", "product", "customer", "staff", "functionbuttons",
    "agelimit", "buttonsandother",
]  # fmt: skip
Printing = Literal["printprompt", "printinput", "printtype"]


class Validation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True, frozen=True):
    """Seed 001's validation rules; ``minval`` of an agelimit code is the age in years."""

    required: bool = True
    minlen: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    maxlen: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    minval: str | None = None
    maxval: str | None = None


class SubcodeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A predefined answer (a button) of a functionbuttons/textfunctionlist code."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    description: str = ""
    function: str | None = None
    target: str | None = None
    amount: int | None = None


class InfocodeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    description: str = ""
    trigger: Trigger
    input_type: InputType = "text"
    subscription_type: str = "ALWAYS"
    validation: Validation = Validation()
    priority: int = 0
    once_per_receipt: bool = False
    printing: Printing | None = None
    link: str | None = None
    default: str | None = None
    plu_id: int | None = None
    dpt_id: int | None = None
    grp_id: int | None = None
    tender_id: str | None = None
    subcodes: Annotated[list[SubcodeIn], msgspec.Meta(max_length=50)] = []


# --- sales targets ---

TargetType = Literal[
    "TOTAL_SALES_AMOUNT",
    "AVG_SALES_AMOUNT",
    "TOTAL_CUSTOMERS_QTY",
    "PRODUCT_SALES_QTY",
    "DISCOUNT_SALES_QTY",
]
AMOUNT_TYPES: frozenset[str] = frozenset({"TOTAL_SALES_AMOUNT", "AVG_SALES_AMOUNT"})
"""Types whose target and achieved values are amounts in minor units (the rest are quantities)."""

Id = Annotated[int, msgspec.Meta(ge=1)]
IdList = Annotated[list[Id], msgspec.Meta(max_length=1000)]
MultiplierText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}(\.[0-9]{1,4})?$")]
"""A calculation multiplier as a decimal string ("1", "1.5"); it must be greater than 0."""

DayAmount = int | str
"""A daily goal or achieved value: minor units (amount types) or a quantity string."""

MAX_DAYS = 3700


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Refuses unknown fields."""


class TargetScope(_In, kw_only=True):
    """Which sale lines count: ``plu`` product ids, ``dpt`` category ids, ``grp`` parent
    category (group) ids. A line counts when any list names it; all lists empty: every line."""

    plu: IdList = []
    dpt: IdList = []
    grp: IdList = []

    def is_empty(self) -> bool:
        return not (self.plu or self.dpt or self.grp)


class TargetData(_In, kw_only=True):
    """The type-specific part of a target (seed 001 ``data``)."""

    target: TargetScope | None = None
    campaign: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    discount_id: Id | None = None
    multiplier: MultiplierText = "1"


class DayTargetIn(_In, kw_only=True):
    """The goal for one day of the target's period."""

    target_date: date
    target_amount: DayAmount


class SalesTargetIn(_In, kw_only=True):
    """A new target, or the full replacement of one (``PUT``).

    ``location_id`` defaults to this hub's store id and must equal it. ``days``, when given,
    replaces the daily goals; on ``PUT`` leaving it out keeps them (they must still fit).
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    location_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    start_date: date
    end_date: date | None = None
    type: TargetType
    data: TargetData = msgspec.field(default_factory=TargetData)
    days: Annotated[list[DayTargetIn], msgspec.Meta(max_length=MAX_DAYS)] | None = None
