"""Item bodies at the edge: decoded into the section's typed body, errors naming the field.

A body the cloud accepts is one a hub can decode, because both sides decode with the types in
:mod:`protocols.sync.config`. Bodies are stored as their canonical JSON (msgspec's encoding of
the typed struct: every field, in declaration order), so equal bodies are equal strings.

Employees are written with a ``pin`` (4 to 8 digits); the cloud stores its argon2id hash as
``pin_hash`` and never returns it.

Beyond each field's own type, :func:`cross_field` checks the rules that tie fields together
(seed 001): a percentage discount's ``percent``, an amount discount's ``amount``, a
MIXNMATCH/BUNDLE discount's ``match``, dates in order (discounts, campaigns, a campaign's
discount windows and reference periods), and layout buttons inside their page's grid without
overlapping. References to other items are :mod:`cloud.domain.config.refs`'s.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, Final, NoReturn

import msgspec

from cloud.domain.config.refs import BUTTON_TARGETS
from cloud.errors import DomainError
from cloud.security import hash_password
from protocols.sync.config import (
    INTEGER_KEYED,
    SECTIONS,
    CampaignConfig,
    DiscountConfig,
    EmployeeConfig,
    LayoutConfig,
    LayoutPage,
    check_key,
)
from protocols.sync.errors import SyncDecodeError

OVERRIDABLE: Final = frozenset({"products", "store_settings", "store_options"})
"""Sections a store may override (a product's price per store, regional settings)."""
PIN = re.compile(r"^[0-9]{4,8}$")
_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_FIELD = re.compile(r"field `(?P<field>[^`]+)`")
PERCENT_DISCOUNTS: Final = frozenset({"PLU_PCT_DISC", "TOTAL_PCT_DISC"})
AMOUNT_DISCOUNTS: Final = frozenset({"PLU_EUR_DISC", "TOTAL_EUR_DISC"})
MATCH_DISCOUNTS: Final = frozenset({"MIXNMATCH", "BUNDLE"})


class InvalidConfig(DomainError):
    """A body that does not fit its section: 422 ``invalid_config`` naming the field."""

    def __init__(self, section: str, field: str, message: str, status: int = 422) -> None:
        super().__init__(
            status, "invalid_config", f"{section}: {message}", {"section": section, "field": field}
        )


def field_of(message: str) -> str:
    """The dotted path of the field a msgspec error names (``variants[0].name``), or ``""``."""
    path = ""
    match = _AT.search(message)
    if match:
        path = match.group("path")
    named = _FIELD.search(message)
    if named:
        path = f"{path}.{named.group('field')}" if path else named.group("field")
    return path


def require_section(section: str, store_id: object = None) -> type[msgspec.Struct]:
    """The body type of ``section``; 404 ``unknown_section`` for a name that is not one."""
    kind = SECTIONS.get(section)
    if kind is None:
        raise DomainError(
            404, "unknown_section", f"no configuration section {section!r}", {"section": section}
        )
    if store_id is not None and section not in OVERRIDABLE:
        raise DomainError(
            404,
            "unknown_section",
            f"stores cannot override {section!r}; only {', '.join(sorted(OVERRIDABLE))}",
            {"section": section},
        )
    return kind


def require_key(section: str, key: str) -> str:
    """``key`` if it fits the section, else 422 ``invalid_key``."""
    try:
        check_key(section, key)
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", key):
            raise SyncDecodeError(f"{section}: key {key!r} may hold letters, digits and _ . : - (1 to 64)")
    except SyncDecodeError as exc:
        raise DomainError(422, "invalid_key", str(exc), {"section": section, "field": "key"}) from None
    return str(int(key)) if section in INTEGER_KEYED else key


def _raise(section: str, exc: Exception) -> NoReturn:
    message = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        raise InvalidConfig(section, field_of(message), message) from None
    raise InvalidConfig(section, "", f"malformed JSON: {message}", status=400) from None


def decode(section: str, raw: bytes) -> msgspec.Struct:
    """The typed body of ``raw`` for ``section`` (not employees: see :func:`decode_employee`)."""
    kind = require_section(section)
    try:
        body: msgspec.Struct = msgspec.json.decode(raw, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        _raise(section, exc)
    cross_field(section, body)
    return body


def convert(section: str, data: dict[str, Any]) -> msgspec.Struct:
    """The typed body from already-parsed JSON (CSV rows, employees)."""
    kind = require_section(section)
    try:
        body: msgspec.Struct = msgspec.convert(data, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidConfig(section, field_of(str(exc)), str(exc)) from None
    cross_field(section, body)
    return body


Broken = Iterator[tuple[str, str]]
"""``(field, message)`` of each rule a body breaks, lazily: the caller stops at the first."""


def cross_field(section: str, body: msgspec.Struct) -> None:
    """422 ``invalid_config`` naming the field of the first rule between fields ``body`` breaks."""
    rules: Broken = iter(())
    if isinstance(body, DiscountConfig):
        rules = _discount(body)
    elif isinstance(body, CampaignConfig):
        rules = _campaign(body)
    elif isinstance(body, LayoutConfig):
        rules = (broken for p, page in enumerate(body.pages) for broken in _page(f"pages[{p}]", page))
    for field, message in rules:
        raise InvalidConfig(section, field, f"{field}: {message}")


def _in_order(
    at: str, first: date | None, last: date | None, names: tuple[str, str] = ("start_date", "end_date")
) -> Broken:
    """The end (``names[1]``) named when it falls before the start; open ends are in order."""
    if first is not None and last is not None and first > last:
        yield f"{at}{names[1]}", f"{last} is before {names[0]} {first}"


def _discount(body: DiscountConfig) -> Broken:
    kind = body.discount_type
    if kind in PERCENT_DISCOUNTS and (body.percent is None or not 0 < Decimal(body.percent) <= 100):
        yield "percent", f"a {kind} discount needs a percent above 0 and at most 100"
    if kind in AMOUNT_DISCOUNTS and not body.amount:
        yield "amount", f"a {kind} discount needs an amount above 0 (minor units)"
    if kind == "SET_PRICE" and body.amount is None:
        yield "amount", "a SET_PRICE discount needs the amount (minor units) it sets the price to"
    if kind in MATCH_DISCOUNTS and body.match is None:
        yield "match", f"a {kind} discount needs its match rules"
    yield from _in_order("", body.valid_from, body.valid_to, ("valid_from", "valid_to"))


def _campaign(body: CampaignConfig) -> Broken:
    """Dates in order; a reference period's weight (above 0) is its type's own bound."""
    yield from _in_order("", body.start_date, body.end_date)
    for i, window in enumerate(body.data.discounts):
        yield from _in_order(f"data.discounts[{i}].", window.start_date, window.end_date)
    for i, period in enumerate(body.data.reference_periods):
        yield from _in_order(f"data.reference_periods[{i}].", period.start_date, period.end_date)


def _page(at: str, page: LayoutPage) -> Broken:
    """Buttons inside the page's ``columns`` x ``rows`` grid, no two covering one cell.

    Each cell is marked once and a check stops at the first taken cell, so the work is bounded
    by the grid, not by buttons times spans.
    """
    taken: dict[tuple[int, int], int] = {}
    for b, button in enumerate(page.buttons):
        here = f"{at}.buttons[{b}]"
        for name, start, span, size, axis in (
            ("x", button.x, button.span_x, page.columns, "columns"),
            ("y", button.y, button.span_y, page.rows, "rows"),
        ):
            if start >= size:
                yield f"{here}.{name}", f"{name} {start} is outside the page's {size} {axis}"
            elif start + span > size:
                yield (
                    f"{here}.span_{name}",
                    f"span_{name} {span} from {start} passes the page's {size} {axis}",
                )
        cells = [(x, y) for x in range(button.x, button.x + button.span_x)
                 for y in range(button.y, button.y + button.span_y)]  # fmt: skip
        other = next((taken[cell] for cell in cells if cell in taken), None)
        if other is not None:
            yield here, f"the button overlaps {at}.buttons[{other}]"
        taken.update(dict.fromkeys(cells, b))
        if button.action in BUTTON_TARGETS and button.object_id is None:
            yield f"{here}.object_id", f"a {button.action} button needs the object_id it acts on"


async def decode_employee(raw: bytes, existing_hash: str | None) -> EmployeeConfig:
    """An employee from the API: ``pin`` in, ``pin_hash`` (argon2id) stored.

    Without ``pin`` the employee keeps the PIN it has; a new employee needs one.
    """
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        _raise("employees", exc)
    if not isinstance(data, dict):
        raise InvalidConfig("employees", "", "Expected `object`")
    if "pin_hash" in data:
        raise InvalidConfig("employees", "pin_hash", "send `pin`; the cloud stores only its hash")
    pin = data.pop("pin", None)
    if pin is None:
        if existing_hash is None:
            raise InvalidConfig("employees", "pin", "Object missing required field `pin`")
        data["pin_hash"] = existing_hash
    elif not isinstance(pin, str) or not PIN.match(pin):
        raise InvalidConfig("employees", "pin", "the PIN must be 4 to 8 digits, as a string")
    else:
        data["pin_hash"] = await asyncio.to_thread(hash_password, pin)
    body = convert("employees", data)
    assert isinstance(body, EmployeeConfig)
    return body


def canonical(body: msgspec.Struct) -> str:
    """The stored form of a body."""
    return msgspec.json.encode(body).decode()


def shown(section: str, body: str | None) -> Any:
    """A stored body as the API returns it (an employee without its PIN hash)."""
    if body is None:
        return None
    data = msgspec.json.decode(body)
    if section == "employees" and isinstance(data, dict):
        data.pop("pin_hash", None)
    return data
