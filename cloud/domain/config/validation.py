"""Item bodies at the edge: decoded into the section's typed body, errors naming the field.

A body the cloud accepts is one a hub can decode, because both sides decode with the types in
:mod:`protocols.sync.config`. Bodies are stored as their canonical JSON (msgspec's encoding of
the typed struct: every field, in declaration order), so equal bodies are equal strings.

Employees are written with a ``pin`` (4 to 8 digits); the cloud stores its argon2id hash as
``pin_hash`` and never returns it.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final, NoReturn

import msgspec

from cloud.errors import DomainError
from cloud.security import hash_password
from protocols.sync.config import INTEGER_KEYED, SECTIONS, EmployeeConfig, check_key
from protocols.sync.errors import SyncDecodeError

OVERRIDABLE: Final = frozenset({"products", "store_settings", "store_options"})
"""Sections a store may override (a product's price per store, regional settings)."""
PIN = re.compile(r"^[0-9]{4,8}$")
_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_FIELD = re.compile(r"field `(?P<field>[^`]+)`")


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
    return body


def convert(section: str, data: dict[str, Any]) -> msgspec.Struct:
    """The typed body from already-parsed JSON (CSV rows, employees)."""
    kind = require_section(section)
    try:
        body: msgspec.Struct = msgspec.convert(data, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidConfig(section, field_of(str(exc)), str(exc)) from None
    return body


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
