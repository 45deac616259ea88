"""The hub's event log: what the websocket streams to tablets.

Every event gets an increasing id from SQLite and is written in the same transaction as the
change it describes, so the log and the state can never disagree and ids survive a restart.
A tablet that reconnects with the last id it saw gets every later event still retained
(bounded replay); if it has fallen further behind than that it is told so and reloads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.clock import now_iso

log = logging.getLogger(__name__)


class Event(msgspec.Struct, frozen=True):
    """One event as sent on the websocket: ``data`` is already-encoded JSON."""

    id: int
    type: str
    at: str
    data: msgspec.Raw


class Subscription:
    """A live feed of events for one websocket client.

    The queue is bounded: a client too slow to keep up is marked ``overflowed`` and dropped,
    and reconnects with its last id to catch up from the log instead of holding memory.
    """

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed.set()


class EventLog:
    """Append, replay and fan out hub events."""

    def __init__(self, db: Database, *, retention: int = 10_000, queue_size: int = 1000) -> None:
        self._db = db
        self._retention = retention
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()

    async def append(self, tx: Transaction, type_: str, data: Any) -> None:
        """Record an event inside ``tx``; subscribers get it once ``tx`` commits."""
        at = now_iso()
        body = msgspec.json.encode(data)
        cursor = await tx.execute(
            "INSERT INTO events (type, data, created_at) VALUES (?, ?, ?)",
            (type_, body.decode(), at),
        )
        event_id = cursor.lastrowid
        assert event_id is not None
        event = Event(id=event_id, type=type_, at=at, data=msgspec.Raw(body))
        tx.after_commit(lambda: self._fan_out(event))

    async def record(self, type_: str, data: Any) -> None:
        """Record an event that goes with no other change (e.g. a device status change)."""
        async with self._db.transaction() as tx:
            await self.append(tx, type_, data)

    def _fan_out(self, event: Event) -> None:
        for subscription in self._subscribers:
            subscription.offer(event)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def last_id(self) -> int:
        row = await self._db.fetchone("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return 0 if row is None else int(row[0])

    async def replay(self, after_id: int, limit: int) -> tuple[list[Event], bool]:
        """Events with id > ``after_id`` (at most ``limit``), and whether some were lost.

        Lost means the client is further behind than the retained log or than ``limit``: it
        must reload its state rather than trust a partial replay.
        """
        rows = await self._db.fetchall(
            "SELECT id, type, data, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit + 1),
        )
        events = list(_to_events(rows))
        truncated = len(events) > limit
        if events and events[0].id != after_id + 1:
            oldest = await self._db.fetchone("SELECT MIN(id) FROM events")
            truncated = truncated or (oldest is not None and oldest[0] > after_id + 1)
        return events[:limit], truncated

    async def prune(self) -> int:
        """Keep the newest ``retention`` events."""
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?",
                (self._retention,),
            )
            return cursor.rowcount


def _to_events(rows: list[Any]) -> Iterator[Event]:
    for row in rows:
        yield Event(
            id=row["id"],
            type=row["type"],
            at=row["created_at"],
            data=msgspec.Raw(row["data"].encode()),
        )
