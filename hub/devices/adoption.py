"""Devices adopted at runtime: the request a technician makes and the table that keeps them.

Adopting turns a discovered device (or a URL typed by hand) into a device the hub owns, with a
kind, a driver, a role and an id. The row is written and audited in one transaction; the
device manager starts the device after the commit, so a crash in between leaves a device that
starts on the next boot rather than one that runs without a record.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from hub.config import DeviceConfig, DeviceKind, DeviceRole
from hub.db.database import Database
from hub.domain import audit
from hub.domain.clock import now_iso
from hub.domain.errors import Conflict, Invalid

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class AdoptRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/devices``: adopt ``found_id`` from discovery, or a device by ``url``.

    ``kind`` and ``driver`` default to what discovery's claim says; ``id`` defaults to one made
    from the role and terminal (``receipt-printer-t1``).
    """

    found_id: Annotated[str, msgspec.Meta(max_length=300)] = ""
    url: Annotated[str, msgspec.Meta(max_length=512)] = ""
    id: Annotated[str, msgspec.Meta(pattern=ID_PATTERN)] | None = None
    kind: DeviceKind | None = None
    driver: Annotated[str, msgspec.Meta(max_length=64)] = ""
    name: Annotated[str, msgspec.Meta(max_length=64)] = ""
    role: DeviceRole | None = None
    terminal: Annotated[str, msgspec.Meta(max_length=64)] = ""
    station: Annotated[str, msgspec.Meta(max_length=64)] = ""
    options: dict[str, Any] = {}


def suggest_id(role: str, place: str, taken: set[str], fallback: str) -> str:
    """A readable unused id: ``receipt-printer-t1``, then ``receipt-printer-t1-2`` ..."""
    stem = "-".join(part for part in (role.replace("_", "-") or fallback, place) if part)
    stem = re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-.")[:60] or "device"
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


class AdoptedRow(msgspec.Struct, frozen=True, kw_only=True):
    config: DeviceConfig
    found_id: str | None


class AdoptedDevices:
    """The ``adopted_devices`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[AdoptedRow]:
        rows = await self._db.fetchall(
            "SELECT id, kind, driver, url, name, role, terminal, station, options, found_id "
            "FROM adopted_devices ORDER BY created_at, id"
        )
        return [
            AdoptedRow(
                config=msgspec.convert(
                    {
                        "id": row["id"],
                        "kind": row["kind"],
                        "driver": row["driver"],
                        "url": row["url"],
                        "name": row["name"],
                        "role": row["role"],
                        "terminal": row["terminal"],
                        "station": row["station"],
                        "options": msgspec.json.decode(row["options"]),
                    },
                    DeviceConfig,
                ),
                found_id=row["found_id"],
            )
            for row in rows
        ]

    async def insert(self, device: DeviceConfig, found_id: str | None, *, actor: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO adopted_devices (id, kind, driver, url, name, role, terminal, station, options, "
                "found_id, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    device.id, device.kind, device.driver, device.url, device.name, device.role,
                    device.terminal, device.station, msgspec.json.encode(device.options).decode(),
                    found_id, now_iso(), actor,
                ),
            )  # fmt: skip
            await audit.record(
                tx,
                actor=actor,
                action="device.adopted",
                target=f"device:{device.id}",
                details={"kind": device.kind, "driver": device.driver, "url": device.url, "role": device.role,
                         "terminal": device.terminal, "station": device.station, "found_id": found_id},
            )  # fmt: skip

    async def delete(self, device_id: str, *, actor: str) -> bool:
        async with self._db.transaction() as tx:
            cursor = await tx.execute("DELETE FROM adopted_devices WHERE id = ?", (device_id,))
            if cursor.rowcount == 0:
                return False
            await audit.record(tx, actor=actor, action="device.removed", target=f"device:{device_id}")
        return True


class FoundLike(msgspec.Struct, frozen=True, kw_only=True):
    """What adoption needs of a discovered device (a ``FoundView`` has these fields)."""

    id: str
    url: str
    name: str
    kind: str | None
    driver: str | None
    adopted_as: str | None


def adoption_config(request: AdoptRequest, found: FoundLike | None, taken: set[str]) -> DeviceConfig:
    """The device table an adoption request describes; raises a domain error naming the field."""
    if found is None and not request.url:
        raise Invalid(
            "missing_device", "give found_id (from discovery) or url", details={"field": "found_id"}
        )
    if found is not None and found.adopted_as:
        raise Conflict(
            "already_adopted",
            f"{found.id} is already the device {found.adopted_as!r}",
            details={"device_id": found.adopted_as},
        )
    kind = request.kind or (found.kind if found else None)
    if kind is None:
        what = "no driver of this hub supports it" if found else "kind is required with url"
        raise Invalid(
            "unsupported_device", f"cannot adopt: {what}; give kind and driver", details={"field": "kind"}
        )
    driver = request.driver or ((found.driver or "") if found and found.kind == kind else "")
    role = request.role or ""
    place = request.terminal or request.station
    device_id = request.id or suggest_id(role, place, taken, fallback=kind.replace("_", "-"))
    if device_id in taken:
        raise Conflict("device_exists", f"a device with id {device_id!r} exists", details={"field": "id"})
    try:
        return msgspec.convert(
            {
                "id": device_id, "kind": kind, "driver": driver, "url": request.url or (found.url if found else ""),
                "name": request.name or (found.name[:64] if found else ""), "role": role,
                "terminal": request.terminal, "station": request.station, "options": request.options,
            },
            DeviceConfig,
        )  # fmt: skip
    except msgspec.ValidationError as exc:
        raise Invalid("invalid_device", str(exc)) from None
