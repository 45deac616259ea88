"""Infocodes as seed 001 defines them: triggers, input types, validation, sub-codes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

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


class SubcodeView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    description: str
    function: str | None
    target: str | None
    amount: int | None


class InfocodeView(msgspec.Struct, kw_only=True):
    id: int
    code: str
    prompt: str
    description: str
    trigger: Trigger
    input_type: InputType
    validation: Validation
    priority: int
    once_per_receipt: bool
    printing: Printing | None
    default: str | None
    plu_id: int | None
    dpt_id: int | None
    grp_id: int | None
    tender_id: str | None
    active: bool
    subcodes: list[SubcodeView]


class Prompt(msgspec.Struct, kw_only=True):
    """A question due now: answer it with ``POST /api/v1/carts/{id}/answers``."""

    infocode: InfocodeView
    scope: str


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    infocode_id: int
    scope: Annotated[str, msgspec.Meta(max_length=64)] = "receipt"
    value: Annotated[str, msgspec.Meta(max_length=500)] = ""
    subcode_id: int | None = None


class AnswerView(msgspec.Struct, kw_only=True):
    id: int
    infocode_id: int
    code: str
    prompt: str
    scope: str
    value: str
    subcode: str | None
    printing: Printing | None
    answered_by: str
