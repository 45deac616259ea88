"""Infocodes as seed 001 defines them: triggers, input types, validation, sub-codes."""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocols.sync.pos_entities import InfocodeIn, InputType, Printing, SubcodeIn, Trigger, Validation

__all__ = ["InfocodeIn", "InputType", "Printing", "SubcodeIn", "Trigger", "Validation"]


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
