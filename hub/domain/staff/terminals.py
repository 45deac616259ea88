"""Terminals: the selling points (tablets at tills) with names, presence and who occupies them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from hub.db.database import Database
from hub.domain import audit
from hub.domain.clock import iso, now, parse_iso
from hub.domain.errors import NotFound

ONLINE_WITHIN_S = 90  # a tablet heartbeats every 30 s; three missed beats and it shows offline


class TerminalView(msgspec.Struct, kw_only=True):
    """A terminal with its last heartbeat and the employee whose shift is open on it."""

    id: str
    name: str
    created_at: str
    last_seen_at: str | None
    online: bool
    occupied_by: str | None
    open_shift_id: int | None


class TerminalService:
    def __init__(self, db: Database, clock: Callable[[], datetime] = now) -> None:
        self._db = db
        self._clock = clock

    async def register(self, terminal_id: str, name: str, *, actor: str) -> TerminalView:
        at = iso(self._clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO terminals (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                (terminal_id, name, at),
            )
            await audit.record(
                tx,
                actor=actor,
                action="terminal.registered",
                target=f"terminal:{terminal_id}",
                details={"name": name},
            )
        return await self.get(terminal_id)

    async def heartbeat(self, terminal_id: str, *, device: str) -> TerminalView:
        at = iso(self._clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO terminals (id, name, created_at, last_seen_at, last_device) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_device = excluded.last_device",
                (terminal_id, terminal_id, at, at, device),
            )
        return await self.get(terminal_id)

    async def list(self) -> list[TerminalView]:
        rows = await self._db.fetchall(
            "SELECT t.*, s.id AS shift_id, e.name AS occupant FROM terminals t "
            "LEFT JOIN shifts s ON s.terminal_id = t.id AND s.state = 'open' "
            "LEFT JOIN employees e ON e.id = s.employee_id ORDER BY t.id"
        )
        current = self._clock()
        return [
            TerminalView(
                id=r["id"],
                name=r["name"],
                created_at=r["created_at"],
                last_seen_at=r["last_seen_at"],
                online=r["last_seen_at"] is not None
                and (current - parse_iso(r["last_seen_at"])).total_seconds() <= ONLINE_WITHIN_S,
                occupied_by=r["occupant"],
                open_shift_id=r["shift_id"],
            )
            for r in rows
        ]

    async def get(self, terminal_id: str) -> TerminalView:
        for terminal in await self.list():
            if terminal.id == terminal_id:
                return terminal
        raise NotFound("terminal_not_found", f"no terminal {terminal_id}")
