"""What the shift API takes and gives."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hub.domain.money import Amount
from hub.domain.shifts.figures import ShiftFigures
from hub.domain.staff.schemas import Pin, TerminalId

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class OpenShift(_In, kw_only=True):
    """Start a shift with the cash in the drawer; reasons when the amount or the hour is off."""

    terminal_id: TerminalId
    opening_cash: Amount
    opening_reason: Reason | None = None
    late_reason: Reason | None = None


class CloseShift(_In, kw_only=True):
    """Counted money per tender type (``cash`` at least), expense notes, a reason if early."""

    counted: dict[Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,32}$")], Amount]
    expense_notes: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    early_reason: Reason | None = None
    print_report: bool = True


class CashMovementIn(_In, kw_only=True):
    """Cash in or out of the drawer with a reason."""

    kind: Literal["cash_in", "cash_out"]
    amount: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    reason: Reason


class HandoverIn(_In, kw_only=True):
    """Hand cash to a manager or owner, who confirms with their own PIN."""

    amount: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    receiver_id: int
    receiver_pin: Pin
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class PostalIn(_In, kw_only=True):
    """Courier packages received and the cash-on-delivery money collected for them."""

    packages: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    cod_amount: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    courier: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CommissionIn(_In, kw_only=True):
    """A consignment sale: the goods owner's money passes through the register."""

    amount: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    goods_owner: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    tender_type: Literal["cash", "card"] = "cash"
    notes: Annotated[str, msgspec.Meta(max_length=200)] = ""


class MovementView(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    amount: int
    tender_type: str
    reason: str
    receiver_id: int | None
    actor: str
    at: str


class ShiftView(msgspec.Struct, kw_only=True):
    id: int
    terminal_id: str
    employee_id: int
    employee_name: str
    state: Literal["open", "closed"]
    opened_at: str
    opening_cash: int
    opening_reason: str | None
    late_minutes: int
    late_reason: str | None
    closed_at: str | None
    closed_by: str | None
    auto_closed: bool
    early_minutes: int
    early_reason: str | None
    expense_notes: str | None
    figures: ShiftFigures | None  # None when the store closes blind and the viewer is no manager
    movements: list[MovementView]
    report_job_id: int | None = None
    blind: bool = False


class ChecklistTaskIn(_In, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    mandatory: bool = True
    frequency: Literal["daily", "weekly", "monthly"] = "daily"


class ChecklistItem(msgspec.Struct, kw_only=True):
    id: int
    name: str
    mandatory: bool
    frequency: str
    done: bool
    done_by: str | None
