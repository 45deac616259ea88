"""A device as the API, the CLI and the cloud's fleet view see it."""

from __future__ import annotations

from typing import Literal

import msgspec

from drivers.base import DeviceHealth
from hub.devices.registry import DeviceSpec

CAPABILITIES = {
    "printer": ("print", "status"),
    "line_display": ("show", "status"),
    "scanner": ("scan", "status"),
}


class DeviceView(msgspec.Struct, frozen=True, kw_only=True):
    """A device with its live status, its role and (printers) its queue.

    ``source`` is ``config`` for devices in hub.toml and ``adopted`` for those adopted at
    runtime (only those can be removed through the API).
    """

    id: str
    kind: str
    driver: str
    name: str
    url: str
    role: str
    terminal: str
    station: str
    source: str
    found_id: str | None
    status: Literal["online", "offline", "error"]
    conditions: tuple[str, ...]
    detail: str
    queued: int
    held: int
    printing: int
    failed: int
    capabilities: tuple[str, ...]


def view_of(spec: DeviceSpec, health: DeviceHealth, counts: dict[str, int]) -> DeviceView:
    capabilities = CAPABILITIES.get(spec.config.kind, ("status",))
    if getattr(spec.options, "drawer", False) and spec.config.kind == "printer":
        capabilities = (*capabilities, "drawer")
    config = spec.config
    return DeviceView(
        id=spec.id,
        kind=config.kind,
        driver=spec.driver_name,
        name=config.name,
        url=str(spec.url),
        role=config.role,
        terminal=config.terminal,
        station=config.station,
        source=spec.source,
        found_id=spec.found_id,
        status=health.state,
        conditions=health.conditions,
        detail=health.detail,
        queued=counts.get("queued", 0),
        held=counts.get("held", 0),
        printing=counts.get("printing", 0),
        failed=counts.get("failed", 0),
        capabilities=capabilities,
    )
