"""The sync outbox: facts for the cloud, written in the same transaction as the change.

Principle 3: a sale that commits has its ``sale.completed`` fact committed with it, and one
that rolls back has none. ``seq`` (SQLite AUTOINCREMENT, never reused) strictly increases per
hub, which is what the cloud acknowledges; ``id`` is a UUIDv7 so facts sort by time anywhere.
The MQTT relay (the sync issue) reads undelivered rows in ``seq`` order.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.clock import now_iso


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version and variant bits, 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return str(uuid.UUID(int=value))


class OutboxFact(msgspec.Struct, frozen=True):
    seq: int
    id: str
    type: str
    occurred_at: str
    payload: msgspec.Raw
    delivered_at: str | None


async def append(tx: Transaction, type_: str, payload: Any) -> int:
    """Record a fact inside ``tx``; returns its ``seq``."""
    row = await tx.fetchone(
        "INSERT INTO outbox (id, type, occurred_at, payload) VALUES (?, ?, ?, ?) RETURNING seq",
        (uuid7(), type_, now_iso(), msgspec.json.encode(payload).decode()),
    )
    assert row is not None
    return int(row["seq"])


async def facts_after(db: Database, *, after_seq: int = 0, limit: int = 100) -> list[OutboxFact]:
    """Facts after ``after_seq`` in ``seq`` order, delivered or not: the relay starts after the
    last acknowledged one, and a rewind (the cloud asking again) must reach delivered ones too."""
    rows = await db.fetchall(
        "SELECT seq, id, type, occurred_at, payload, delivered_at FROM outbox "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    )
    return [
        OutboxFact(
            seq=row["seq"],
            id=row["id"],
            type=row["type"],
            occurred_at=row["occurred_at"],
            payload=msgspec.Raw(row["payload"].encode()),
            delivered_at=row["delivered_at"],
        )
        for row in rows
    ]


async def mark_delivered(db: Database, upto_seq: int) -> int:
    """The cloud has stored every fact up to ``upto_seq``; returns how many rows this marked."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE outbox SET delivered_at = ? WHERE seq <= ? AND delivered_at IS NULL",
            (now_iso(), upto_seq),
        )
        return int(cursor.rowcount)


async def last_delivered(db: Database) -> int:
    """The highest seq the cloud acknowledged (0 before the first ack)."""
    row = await db.fetchone("SELECT MAX(seq) AS seq FROM outbox WHERE delivered_at IS NOT NULL")
    return int(row["seq"]) if row is not None and row["seq"] is not None else 0


async def backlog(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL")
    return int(row["n"]) if row is not None else 0
