"""The cloud's MQTT bridge: every hub's facts, presence, state and job reports in; acks and jobs out.

One consumer task takes what the broker delivers in bursts (:class:`BridgeClient`), routes it
by channel and answers: ``up/events`` in batches through :class:`EventIngest` (then one ack per
hub), ``status`` through the presence rules, ``up/state`` into the fleet view, ``up/jobs``
through the job lifecycle. Anything unreadable is dead-lettered and the consumer moves on.
A second task sends queued jobs to hubs that are online and times out the overdue ones; a
third keeps the broker's password and ACL files in step with the hubs table; a fourth keeps
every active hub's retained ``down/config`` at its store's config version
(:class:`~cloud.domain.config.push.ConfigPublisher`).

It runs inside ``smartpos-cloud serve`` when a broker is configured, or alone with
``smartpos-cloud bridge``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.broker.mosquitto import BrokerFilesError, MosquittoFiles
from cloud.db.base import utcnow
from cloud.db.models import DeadLetter
from cloud.domain.config.push import ConfigPublisher
from cloud.domain.jobs import services as jobs
from cloud.settings import Settings
from cloud.sync.fleet import UnusableReport, apply_state, apply_status
from cloud.sync.ingest import BatchOutcome, EventIngest, HubDirectory, HubIdentity, dead_letter
from cloud.sync.mqtt import BridgeClient
from cloud.sync.projections import default_projectors
from protocols.sync import HubTopics, SyncDecodeError, TopicError, parse_topic
from protocols.sync.messages import decode_job_update, decode_state, decode_status, encode

log = logging.getLogger(__name__)
BATCH = 2000
JOBS_EVERY_S = 1.0
BROKER_FILES_EVERY_S = 60.0
CONFIG_EVERY_S = 2.0  # also notices config written by another process (a separate API server)


@dataclass(slots=True)
class BridgeCounters:
    """Running totals, for logs, the health endpoint and the benchmark."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    jobs_sent: int = 0


class SyncBridge:
    """Runs until :meth:`stop`; see the module docstring."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        if not settings.broker_url:
            raise ValueError("the bridge needs SMARTPOS_CLOUD_BROKER_URL")
        self.settings = settings
        self._sessions = sessions
        self._hubs = HubDirectory()
        self._ingest = EventIngest(sessions, self._hubs, projectors=default_projectors())
        self._files = MosquittoFiles(settings)
        self.client = BridgeClient(
            settings.broker_url,
            settings.bridge_username,
            settings.bridge_password,
            client_id=f"{settings.bridge_username}-bridge",
            ca_file=settings.broker_ca_file,
        )
        self.counters = BridgeCounters()
        self._jobs_due = asyncio.Event()
        self._config = ConfigPublisher(
            sessions, lambda topic, payload: self.client.publish(topic, payload, retain=True)
        )
        self._config_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Write the broker's files, connect, and start the tasks."""
        if self._files.enabled:
            async with self._sessions() as session:
                with contextlib.suppress(BrokerFilesError):
                    await self._files.sync(session)
        self.client.start()
        self._tasks = [
            asyncio.create_task(self._guard("consume", self._consume), name="bridge-consume"),
            asyncio.create_task(self._guard("jobs", self._jobs), name="bridge-jobs"),
            asyncio.create_task(self._guard("config", self._push_config), name="bridge-config"),
        ]
        if self._files.enabled:
            self._tasks.append(asyncio.create_task(self._guard("broker-files", self._broker_files)))

    async def stop(self) -> None:
        """Stop the tasks and disconnect."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self.client.stop)

    def jobs_changed(self) -> None:
        """A job was queued or cancelled: look at the queue now rather than on the next tick."""
        self._jobs_due.set()

    def config_changed(self) -> None:
        """Configuration was written: publish the stores' new versions (retained ``down/config``) now."""
        self._config_due.set()

    async def _guard(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        # A database outage must not end the bridge: log, wait, carry on. Messages taken but
        # not stored are resent by their hubs, which have had no ack for them.
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bridge task failed; restarting it", extra={"task": name})
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        while True:
            batch = await self.client.take(BATCH)
            self.counters.received += len(batch)
            events: list[tuple[HubTopics, str, bytes]] = []
            for topic, payload in batch:
                try:
                    topics, channel = parse_topic(topic)
                except TopicError as exc:
                    await self._dead(topic, payload, str(exc))
                    continue
                if channel == "up/events":
                    events.append((topics, topic, payload))
                else:
                    # Facts first, so an ack is never held up behind a slow state message.
                    if events:
                        await self._store(events)
                        events = []
                    await self._other(topics, channel, topic, payload)
            if events:
                await self._store(events)

    async def _store(self, events: list[tuple[HubTopics, str, bytes]]) -> None:
        outcome: BatchOutcome = await self._ingest.ingest(events)
        self.counters.stored += outcome.stored
        self.counters.duplicates += outcome.duplicates
        self.counters.dead_letters += outcome.dead_letters
        for topics, ack in outcome.acks.items():
            self.client.publish(topics.down_acks, encode(ack))

    async def _other(self, topics: HubTopics, channel: str, topic: str, payload: bytes) -> None:
        async with self._sessions() as session:
            hub = await self._hubs.find(session, topics)
            if hub is None:
                await self._dead(topic, payload, "no active hub owns this topic")
                return
            try:
                if channel == "status":
                    if await apply_status(session, hub.id, decode_status(payload)):
                        self._jobs_due.set()
                        self._config.hub_online(hub.id)
                        self._config_due.set()
                elif channel == "up/state":
                    await apply_state(session, self.settings, hub.id, decode_state(payload))
                elif channel == "up/jobs":
                    await jobs.apply_update(session, hub.id, decode_job_update(payload), utcnow())
                    await session.commit()
            except (SyncDecodeError, UnusableReport, jobs.JobReportRefused) as exc:
                await session.rollback()
                await self._dead(topic, payload, str(exc), hub)

    async def _dead(self, topic: str, payload: bytes, reason: str, hub: HubIdentity | None = None) -> None:
        log.warning("dead letter", extra={"topic": topic, "reason": reason})
        self.counters.dead_letters += 1
        async with self._sessions() as session:
            session.add(DeadLetter(**dead_letter(topic, payload, reason, hub)))
            await session.commit()

    async def _jobs(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._jobs_due.wait(), JOBS_EVERY_S)
            self._jobs_due.clear()
            if not self.client.connected.is_set():
                continue
            async with self._sessions() as session:
                now = utcnow()
                timed_out = await jobs.sweep_timeouts(session, now)
                # Marked sent and committed first, published after: a job an admin cancels
                # meanwhile is either never published or can no longer be canceled.
                outgoing = [
                    (HubTopics(str(hub.tenant_id), str(hub.store_id), str(hub.id)), jobs.job_request(job))
                    for job, hub in await jobs.due_for_delivery(session, now)
                    if await jobs.mark_sent(session, job, hub.session, now)
                ]
                if timed_out or outgoing:
                    await session.commit()
            for topics, request in outgoing:
                self.client.publish(topics.down_jobs, encode(request))
            self.counters.jobs_sent += len(outgoing)

    async def _push_config(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._config_due.wait(), CONFIG_EVERY_S)
            self._config_due.clear()
            if self.client.connected.is_set():
                await self._config.run()

    async def _broker_files(self) -> None:
        while True:
            await asyncio.sleep(BROKER_FILES_EVERY_S)
            async with self._sessions() as session:
                await self._files.sync(session)

    def forget_hub(self, hub_id: uuid.UUID) -> None:
        """A hub was revoked: stop accepting its messages at once."""
        self._hubs.forget(str(hub_id))
