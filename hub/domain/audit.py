"""The audit log: who did what sensitive thing, written in the same transaction as the thing."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.clock import now_iso


class AuditEntry(msgspec.Struct, frozen=True):
    id: int
    at: str
    actor: str
    action: str
    target: str | None
    details: msgspec.Raw


async def record(
    tx: Transaction, *, actor: str, action: str, target: str | None = None, details: Any = None
) -> None:
    """Append an audit entry inside ``tx``."""
    await tx.execute(
        "INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)",
        (now_iso(), actor, action, target, msgspec.json.encode(details or {}).decode()),
    )


async def recent(db: Database, *, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    where, params = ("WHERE action = ?", [action]) if action else ("", [])
    rows = await db.fetchall(
        f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?",  # noqa: S608 - fixed text
        [*params, limit],
    )
    return [
        AuditEntry(
            id=r["id"],
            at=r["at"],
            actor=r["actor"],
            action=r["action"],
            target=r["target"],
            details=msgspec.Raw(r["details"].encode()),
        )
        for r in rows
    ]
