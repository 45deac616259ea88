"""Storing hubs' facts exactly once, in batches: the database half of the ingest contract.

A batch of ``up/events`` messages becomes one transaction: new facts go into ``events``
(unique per hub and seq, keyed by the event id), unreadable ones into ``dead_letters``, and
each hub's acknowledged position (``hubs.ingested_seq``) moves forward. Only after the commit
do the in-memory sequences (:class:`~cloud.sync.sequencer.HubSequence`) advance and the acks
go out, so the cloud never acknowledges a fact it does not hold.

A fact whose envelope is readable but whose payload is not (an unknown type, a field of the
wrong type, a newer major version) is dead-lettered *with its seq*: it counts as handled, so
the hub is not asked for it forever and the facts after it flow. An envelope without a
readable seq cannot be placed at all; it is dead-lettered and not acknowledged. An envelope of
a newer major version is refused too, but its seq is still read so the stream keeps moving:
the dead letter holds it for a cloud that understands it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.base import utcnow
from cloud.db.bulk import insert_new
from cloud.db.models import DeadLetter, Event, Hub
from cloud.sync.projections import Projector, StoredEvent
from cloud.sync.sequencer import HubSequence
from protocols.sync import HubTopics, SyncDecodeError
from protocols.sync.messages import Ack, decode_envelope, decode_payload

log = logging.getLogger(__name__)
HUB_CACHE_S = 30.0
_STORED = ("id", "tenant_id", "store_id", "hub_id", "seq", "type", "schema_version", "occurred_at", "payload")


class _SeqOnly(msgspec.Struct):
    seq: int


def salvage_seq(payload: bytes) -> int | None:
    """The seq of an envelope that did not decode in full, if it has a usable one."""
    try:
        seq = msgspec.json.decode(payload, type=_SeqOnly).seq
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return seq if seq > 0 else None


@dataclass(frozen=True, slots=True)
class HubIdentity:
    """What the bridge must know of a hub to accept its messages."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID

    def matches(self, topics: HubTopics) -> bool:
        """The topic's tenant and store are the hub's own (a topic cannot move a hub)."""
        return topics.tenant == str(self.tenant_id) and topics.store == str(self.store_id)


@dataclass(slots=True)
class BatchOutcome:
    """What one batch did: acks to publish and counts for the logs and the benchmark."""

    acks: dict[HubTopics, Ack] = field(default_factory=dict)
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0


def parse_time(text: str) -> datetime:
    """An ISO-8601 time with a zone (what the hub writes); raises ValueError otherwise."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return value


def dead_letter(
    topic: str, payload: bytes, reason: str, hub: HubIdentity | None = None, seq: int | None = None
) -> dict[str, Any]:
    """A ``dead_letters`` row."""
    return {
        "id": uuid.uuid4(),
        "created_at": utcnow(),
        "tenant_id": hub.tenant_id if hub else None,
        "hub_id": hub.id if hub else None,
        "seq": seq,
        "topic": topic[:400],
        "reason": reason[:2000],
        "payload": payload,
    }


class HubDirectory:
    """Active hubs by id, cached briefly (a revoked hub is also cut off at the broker)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._known: dict[str, tuple[HubIdentity | None, float]] = {}
        self._clock = clock

    async def find(self, session: AsyncSession, topics: HubTopics) -> HubIdentity | None:
        """The hub the topic names, if it exists, is active and the topic is its own."""
        now = self._clock()
        cached = self._known.get(topics.hub)
        if cached is None or now - cached[1] > HUB_CACHE_S:
            identity = await self._load(session, topics.hub)
            self._known[topics.hub] = (identity, now)
        else:
            identity = cached[0]
        return identity if identity is not None and identity.matches(topics) else None

    @staticmethod
    async def _load(session: AsyncSession, hub_id: str) -> HubIdentity | None:
        try:
            key = uuid.UUID(hub_id)
        except ValueError:
            return None
        row = (
            await session.execute(
                select(Hub.id, Hub.tenant_id, Hub.store_id).where(Hub.id == key, Hub.status == "active")
            )
        ).first()
        return HubIdentity(row.id, row.tenant_id, row.store_id) if row is not None else None

    def forget(self, hub_id: str) -> None:
        """Drop a cached hub (after a revocation)."""
        self._known.pop(hub_id, None)


class EventIngest:
    """Turns batches of ``up/events`` messages into stored facts and acks."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hubs: HubDirectory,
        *,
        clock: Callable[[], float] = time.monotonic,
        projectors: Sequence[Projector] = (),
    ) -> None:
        self._sessions = sessions
        self._hubs = hubs
        self._projectors = list(projectors)
        self._clock = clock
        self._sequences: dict[uuid.UUID, HubSequence] = {}

    async def _sequence(self, session: AsyncSession, hub_id: uuid.UUID) -> HubSequence:
        sequence = self._sequences.get(hub_id)
        if sequence is None:
            # After a restart: the committed position, plus whatever was stored beyond a hole.
            contiguous = await session.scalar(select(Hub.ingested_seq).where(Hub.id == hub_id)) or 0
            above = [
                *(await session.scalars(select(Event.seq).where(Event.hub_id == hub_id, Event.seq > contiguous))),
                *(await session.scalars(
                    select(DeadLetter.seq).where(DeadLetter.hub_id == hub_id, DeadLetter.seq > contiguous)
                )),
            ]  # fmt: skip
            sequence = HubSequence.rebuild(contiguous, [s for s in above if s is not None])
            self._sequences[hub_id] = sequence
        return sequence

    async def ingest(self, messages: Sequence[tuple[HubTopics, str, bytes]]) -> BatchOutcome:
        """Store one batch of ``(topics, topic, payload)``; see the module docstring."""
        outcome = BatchOutcome()
        async with self._sessions() as session:
            events: list[dict[str, Any]] = []
            letters: list[dict[str, Any]] = []
            decoded_by_id: dict[uuid.UUID, Any] = {}  # each fact's typed payload, for the projectors
            # Tentative sequences: the real ones move only after the commit.
            pending: dict[uuid.UUID, tuple[HubTopics, HubSequence]] = {}
            received_at = utcnow()
            for topics, topic, payload in messages:
                hub = await self._hubs.find(session, topics)
                if hub is None:
                    letters.append(dead_letter(topic, payload, "no active hub owns this topic"))
                    continue
                if hub.id not in pending:
                    real = await self._sequence(session, hub.id)
                    pending[hub.id] = (topics, HubSequence(real.contiguous, set(real.ahead)))
                sequence = pending[hub.id][1]
                try:
                    envelope = decode_envelope(payload)
                except SyncDecodeError as exc:
                    seq = salvage_seq(payload)
                    if seq is not None and not sequence.is_new(seq):
                        outcome.duplicates += 1
                        continue
                    letters.append(dead_letter(topic, payload, str(exc), hub, seq))
                    if seq is not None:
                        sequence.stored(seq)
                    continue
                if not sequence.is_new(envelope.seq):
                    outcome.duplicates += 1
                    continue
                try:
                    decoded = decode_payload(envelope)
                    occurred_at = parse_time(envelope.occurred_at)
                    event_id = uuid.UUID(envelope.id)
                except (SyncDecodeError, ValueError) as exc:
                    letters.append(dead_letter(topic, payload, str(exc), hub, envelope.seq))
                    sequence.stored(envelope.seq)
                    continue
                events.append({
                    "id": event_id, "created_at": received_at, "tenant_id": hub.tenant_id,
                    "store_id": hub.store_id, "hub_id": hub.id, "seq": envelope.seq, "type": envelope.type,
                    "schema_version": envelope.v, "occurred_at": occurred_at,
                    "payload": bytes(envelope.payload).decode("utf-8"),
                })  # fmt: skip
                decoded_by_id[event_id] = decoded
                sequence.stored(envelope.seq)
            await self._write(session, events, letters, pending, received_at, decoded_by_id)
        for hub_id, (topics, tentative) in pending.items():
            real = self._sequences[hub_id]
            real.contiguous, real.ahead = tentative.contiguous, tentative.ahead
            outcome.acks[topics] = real.ack(self._clock())
        outcome.stored, outcome.dead_letters = len(events), len(letters)
        return outcome

    async def _write(
        self,
        session: AsyncSession,
        events: list[dict[str, Any]],
        letters: list[dict[str, Any]],
        pending: dict[uuid.UUID, tuple[HubTopics, HubSequence]],
        received_at: datetime,
        decoded_by_id: dict[uuid.UUID, Any],
    ) -> None:
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        # Core statements on the tables, not ORM bulk inserts: the ORM's per-row bookkeeping
        # cost more than the database's work at thousands of facts a second.
        if events:
            # A fact stored by an earlier delivery (a crash between commit and ack) is skipped
            # by the unique keys rather than failing the whole batch. Only rows this batch
            # really inserted are projected: a redelivered fact already stored is not returned.
            inserted = await insert_new(session, cast(Table, Event.__table__), events)
            fresh = [
                StoredEvent(**{k: e[k] for k in _STORED}, decoded=decoded_by_id.get(e["id"]))
                for e in events
                if e["id"] in inserted
            ]
            for projector in self._projectors:
                await projector(session, fresh)
        if letters:
            await session.execute(dialect.insert(DeadLetter.__table__), letters)
        if pending:
            hubs = cast(Table, Hub.__table__)
            # One statement for every hub in the batch (executemany), not one round trip each.
            await session.execute(
                update(hubs)
                .where(hubs.c.id == bindparam("hub"), hubs.c.ingested_seq < bindparam("upto"))
                .values(ingested_seq=bindparam("upto"), last_seen_at=bindparam("seen")),
                [{"hub": hub_id, "upto": sequence.contiguous, "seen": received_at}
                 for hub_id, (_, sequence) in pending.items()],
            )  # fmt: skip
        await session.commit()
