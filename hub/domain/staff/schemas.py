"""What the staff API takes and gives: employees, PIN and card login, sessions, the matrix."""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.domain.money import PercentText
from hub.domain.permissions import Role

Pin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,8}$")]
TerminalId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,16}$")]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class EmployeeIn(_In, kw_only=True):
    """An employee (seed 001's cashier fields plus the help center's role, store and commission)."""

    cashier_num: Annotated[int, msgspec.Meta(ge=1, le=999_999)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    role: Role = "cashier"
    pin: Pin
    location_id: str | None = None
    training: bool = False
    manager: bool = False
    selfservice: bool = False
    cardnumber: Annotated[str, msgspec.Meta(min_length=4, max_length=64)] | None = None
    pos_layout: str | None = None
    layout_page: int | None = None
    pos_language: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    commission_rate: PercentText = "0"
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None


class EmployeePatch(_In, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    role: Role | None = None
    pin: Pin | None = None
    location_id: str | None = None
    training: bool | None = None
    manager: bool | None = None
    selfservice: bool | None = None
    cardnumber: Annotated[str, msgspec.Meta(min_length=4, max_length=64)] | None = None
    pos_language: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    commission_rate: PercentText | None = None
    active: bool | None = None


class EmployeeView(msgspec.Struct, kw_only=True):
    id: int
    cashier_num: int
    name: str
    role: Role
    location_id: str | None
    training: bool
    manager: bool
    selfservice: bool
    has_card: bool
    pos_layout: str | None
    layout_page: int | None
    pos_language: str | None
    commission_rate: str
    active: bool


class PinLogin(_In, kw_only=True):
    """Log in on a terminal with a cashier number and PIN, or with a card (NFC or barcode)."""

    terminal_id: TerminalId
    cashier_num: int | None = None
    pin: Pin | None = None
    cardnumber: Annotated[str, msgspec.Meta(min_length=4, max_length=64)] | None = None
    preview: bool = False


class SessionView(msgspec.Struct, kw_only=True):
    """A logged-in employee on a terminal; send ``token`` as the ``X-Staff-Session`` header."""

    token: str | None
    employee: EmployeeView
    terminal_id: str
    preview: bool
    permissions: list[str]
    occupied_by: str | None
    created_at: str


class MatrixView(msgspec.Struct, kw_only=True):
    """Roles x permissions, with what each permission allows."""

    permissions: dict[str, str]
    roles: dict[str, list[str]]


class RolePermissions(_In, kw_only=True):
    permissions: list[str]
