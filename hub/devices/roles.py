"""Device roles: what an adopted device is for, and what each role needs.

A role ties a device to the place it serves: the receipt printer, customer display and scanner
of a terminal (a till), the kitchen printer of a station. The sales flow asks by role (the
receipt printer of the terminal a sale was made on), so a second till gets its own printer
without touching the store's settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from hub.config import DeviceRole

ROLE_KIND: dict[str, str] = {
    "receipt_printer": "printer",
    "kitchen_printer": "printer",
    "label_printer": "printer",
    "customer_display": "line_display",
    "scanner": "scanner",
    "payment_terminal": "payment_terminal",
    "scale": "scale",
}
NEEDS_TERMINAL = frozenset({"receipt_printer", "customer_display", "scanner", "payment_terminal", "scale"})
NEEDS_STATION = frozenset({"kitchen_printer"})
ROLES: tuple[DeviceRole, ...] = (
    "receipt_printer",
    "kitchen_printer",
    "label_printer",
    "customer_display",
    "scanner",
    "payment_terminal",
    "scale",
)


class RoleError(ValueError):
    """A role that does not fit the device, or is missing its terminal or station."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_role(kind: str, role: str, terminal: str, station: str) -> None:
    """Raise :class:`RoleError` naming the field when ``role`` cannot be given to a ``kind``."""
    if not role:
        if terminal or station:
            raise RoleError("role", "a terminal or station is given without a role")
        return
    wanted = ROLE_KIND.get(role)
    if wanted is None:
        raise RoleError("role", f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if wanted != kind:
        raise RoleError("role", f"a {kind} cannot be a {role} (that role needs a {wanted})")
    if role in NEEDS_TERMINAL and not terminal:
        raise RoleError("terminal", f"a {role} belongs to a terminal: give its id")
    if role in NEEDS_STATION and not station:
        raise RoleError("station", f"a {role} belongs to a station: give its name")


class HasRole(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def terminal(self) -> str: ...


def by_terminal(devices: Iterable[HasRole], role: str) -> dict[str, str]:
    """``terminal -> device id`` for the devices with ``role`` (the first one wins)."""
    mapping: dict[str, str] = {}
    for device in devices:
        if device.role == role and device.terminal:
            mapping.setdefault(device.terminal, device.id)
    return mapping
