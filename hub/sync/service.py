"""The cloud link: connect with backoff, presence, the outbox relay and acknowledgements.

* Presence: each connection attempt takes the next session number (kept in ``meta``). The
  link publishes ``online`` with it (retained) and leaves a will of ``offline`` with the same
  number, so the cloud can ignore a late will from an older session.
* Relay: facts go out in ``seq`` order on ``up/events`` (QoS 1), starting after the last
  acknowledged seq; the cloud acknowledges the highest contiguous seq it stored and the hub marks
  those rows delivered. After a reconnect everything unacknowledged is sent again: the cloud
  stores each fact once (unique hub and seq), so a repeat costs nothing. ``resend_from`` in an
  ack rewinds the relay to a gap.
* Config: the retained ``down/config`` goes to :class:`~hub.sync.config_fetch.ConfigFetcher`,
  which fetches and applies the delta in its own task and then publishes the state again.
* Nothing here blocks selling: the outbox fills while the cloud is away and drains later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

import msgspec

from hub import __version__
from hub.config import SyncSection
from hub.db.database import Database
from hub.domain import outbox
from hub.domain.clock import now_iso
from hub.sync.config_fetch import ConfigFetcher
from hub.sync.jobs import RemoteJobs
from hub.sync.link import LinkDown, MqttLink
from protocols.sync import HubTopics, SyncDecodeError, TopicError, parse_topic
from protocols.sync.messages import (
    EventEnvelope,
    JobUpdate,
    ReportedState,
    Status,
    decode_ack,
    decode_config,
    encode,
)

log = logging.getLogger(__name__)
IDLE_POLL_S = 0.2
STATE_EVERY_S = 30.0
ACK_FLUSH_S = 0.25
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class SyncStatus(msgspec.Struct, kw_only=True):
    """What ``smartpos-hub sync status`` shows."""

    enabled: bool
    connected: bool
    broker: str
    hub: str
    session: int
    backlog: int
    last_ack: int
    last_ack_at: str | None
    applied_config_version: int
    last_error: str | None
    # The last config refused (the store runs on the applied one) and why, or a fetch problem.
    rejected_config_version: int = 0
    config_error: str | None = None
    # Who the hub is in the cloud; the last three come from the claim (cloud-link.toml).
    tenant: str = ""
    store: str = ""
    hub_id: str = ""
    hub_name: str = ""
    cloud: str = ""
    claimed_at: str | None = None


class SyncService:
    """Runs the link until :meth:`stop`; see the module docstring."""

    def __init__(
        self,
        config: SyncSection,
        db: Database,
        *,
        state: Callable[[], Awaitable[ReportedState]] | None = None,
        jobs: RemoteJobs | None = None,
        config_fetcher: ConfigFetcher | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.topics = HubTopics(config.tenant, config.store, config.hub_id)
        self._state = state
        self._jobs = jobs
        if jobs is not None:
            jobs.publish = self._publish_job_update
            jobs.rewind = self.rewind
        self._fetcher = config_fetcher
        if config_fetcher is not None:
            config_fetcher.on_change = self.publish_state
        self._link: MqttLink | None = None
        self._task: asyncio.Task[None] | None = None
        self._jobs_task: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        # Jobs that arrived and have not run; kept across reconnects (each job id runs once).
        self._job_inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._down = asyncio.Event()
        self.session = 0
        self.last_ack = 0
        self.last_ack_at: str | None = None
        self.applied_config_version = 0
        self._stopping = False
        self.last_error: str | None = None
        self._sent_upto = 0
        self._progress_at = time.monotonic()
        self._ack_dirty = asyncio.Event()
        self._reported_backlog = 0  # the backlog in the last reported state

    def wake(self) -> None:
        """A new fact was committed: publish without waiting for the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sync")
        if self._jobs is not None:
            # Outlives each connection: a job running when the link drops finishes, and its
            # final state goes out with the recent ones after the reconnect.
            self._jobs_task = asyncio.create_task(self._run_jobs(self._jobs), name="sync-jobs")
        if self._fetcher is not None:
            self._fetcher.start()

    async def stop(self) -> None:
        self._stopping = True  # the link's goodbye then publishes the offline will
        if self._fetcher is not None:
            await self._fetcher.stop()
        for task in (self._jobs_task, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._link is not None:
            await self._link.close()

    async def status(self) -> SyncStatus:
        rejected, config_error = 0, None
        if self._fetcher is not None:
            state = await self._fetcher.config.state()
            self.applied_config_version = state.applied_version
            rejected = state.rejected_version
            # A fetch problem now, else why the last refused version was refused.
            config_error = self._fetcher.last_error or state.error or None
        return SyncStatus(
            rejected_config_version=rejected, config_error=config_error,
            enabled=self.config.enabled, connected=bool(self._link and self._link.connected),
            broker=self.config.broker, hub=self.topics.prefix, session=self.session,
            backlog=await outbox.backlog(self.db), last_ack=self.last_ack or await outbox.last_delivered(self.db),
            last_ack_at=self.last_ack_at, applied_config_version=self.applied_config_version, last_error=self.last_error,
            tenant=self.config.tenant, store=self.config.store, hub_id=self.config.hub_id,
        )  # fmt: skip

    async def _next_session(self) -> int:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO meta (key, value) VALUES ('sync_session', '1') ON CONFLICT (key) DO UPDATE "
                "SET value = CAST(value AS INTEGER) + 1 RETURNING value"
            )
        return int(row["value"]) if row is not None else 1

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except LinkDown as exc:
                self.last_error = str(exc)
                log.warning("cloud link down", extra={"error": str(exc)})
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("cloud link failed")
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            # Jitter keeps a fleet that lost the broker together from returning together.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _session(self) -> None:
        self.session = await self._next_session()
        self._down.clear()
        link = MqttLink(
            url=self.config.broker, client_id=self.config.hub_id, username=self.config.username,
            password=self.config.password, keepalive_s=self.config.keepalive_s,
            session_expiry_s=self.config.session_expiry_s, ca_file=self.config.ca_file,
            on_message=self._received, on_disconnect=self._lost,
        )  # fmt: skip
        offline = Status(state="offline", session=self.session, at=now_iso(), software_version=__version__)
        link.will(self.topics.status, encode(offline))
        self._link = link
        try:
            await link.connect()
            self.last_error = None
            link.subscribe([self.topics.down_acks, self.topics.down_config, self.topics.down_jobs])
            online = Status(state="online", session=self.session, at=now_iso(), software_version=__version__)
            link.publish(self.topics.status, encode(online), retain=True)
            await self.publish_state()
            if self._jobs is not None:
                await self._jobs.republish_recent()
            # Everything not acknowledged goes out again; the cloud absorbs repeats.
            self._sent_upto = await outbox.last_delivered(self.db)
            self._progress_at = time.monotonic()
            log.info("cloud link up", extra={"session": self.session, "resend_after": self._sent_upto})
            workers = [
                asyncio.create_task(self._relay(link), name="sync-relay"),
                asyncio.create_task(self._dispatch(), name="sync-inbox"),
                asyncio.create_task(self._report_state(), name="sync-state"),
                asyncio.create_task(self._flush_acks(), name="sync-acks"),
            ]
            try:
                await self._down.wait()
            finally:
                for worker in workers:
                    worker.cancel()
                for worker in workers:
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
                if self.last_ack:
                    await outbox.mark_delivered(self.db, self.last_ack)
            raise LinkDown(self.last_error or "connection lost")
        finally:
            await link.close(with_will=self._stopping)

    def _lost(self, reason: str) -> None:
        self.last_error = f"disconnected: {reason}"
        self._down.set()

    def _received(self, topic: str, payload: bytes) -> None:
        self._inbox.put_nowait((topic, payload))

    def _publish_job_update(self, update: JobUpdate) -> None:
        if self._link is not None and self._link.connected:
            self._link.publish(self.topics.up_jobs, encode(update))

    async def publish_state(self) -> None:
        if self._link is None or self._state is None:
            return
        state = await self._state()
        self._reported_backlog = state.backlog
        self._link.publish(self.topics.up_state, encode(state), retain=True)

    async def _report_state(self) -> None:
        """The retained reported state, refreshed so the fleet view's backlog and devices stay current."""
        while True:
            await asyncio.sleep(STATE_EVERY_S)
            await self.publish_state()

    async def _relay(self, link: MqttLink) -> None:
        while True:
            if (
                self._sent_upto > self.last_ack
                and time.monotonic() - self._progress_at > self.config.ack_timeout_s
            ):
                # Facts are out and no ack has moved for a while: send again from the last one
                # the cloud acknowledged (the database knows it even before this process's first ack).
                acked = max(self.last_ack, await outbox.last_delivered(self.db))
                if self._sent_upto > acked:
                    log.info("no acknowledgement in time: sending again", extra={"from_seq": acked + 1})
                    self._sent_upto = acked
                self._progress_at = time.monotonic()
            facts = await outbox.facts_after(self.db, after_seq=self._sent_upto, limit=self.config.batch)
            for fact in facts:
                envelope = EventEnvelope(seq=fact.seq, id=fact.id, type=fact.type, occurred_at=fact.occurred_at,
                                         payload=fact.payload)  # fmt: skip
                link.publish(self.topics.up_events, encode(envelope))
                self._sent_upto = fact.seq
            if len(facts) < self.config.batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
            else:
                await asyncio.sleep(0)  # let acks and the API in between batches

    def rewind(self, from_seq: int) -> None:
        """Send every fact from ``from_seq`` on again, acknowledged or not (a cloud that lost
        facts, e.g. restored from a backup, asks for them with a resync job or a resend)."""
        if from_seq <= self._sent_upto:
            log.info("sending again", extra={"from_seq": from_seq})
            self._sent_upto = from_seq - 1
            self._wake.set()

    async def _dispatch(self) -> None:
        while True:
            topic, payload = await self._inbox.get()
            try:
                _, channel = parse_topic(topic)
                if channel == "down/acks":
                    await self._ack(payload)
                elif channel == "down/config" and self._fetcher is not None:
                    # Fetched and applied by the fetcher's own task: a big delta does not hold
                    # up acknowledgements and jobs.
                    self._fetcher.offer(decode_config(payload))
                elif channel == "down/jobs" and self._jobs is not None:
                    # Jobs run in their own task: a test print waiting for paper must not hold
                    # up the acks behind it (the relay would time out and send everything again).
                    self._job_inbox.put_nowait(payload)
            except (SyncDecodeError, TopicError) as exc:
                # A message we cannot read is logged and dropped; it must not stop the link.
                log.warning("ignored a bad message from the cloud", extra={"topic": topic, "error": str(exc)})

    async def _run_jobs(self, jobs: RemoteJobs) -> None:
        """Jobs one at a time, in the order the cloud sent them."""
        while True:
            await jobs.handle(await self._job_inbox.get())

    async def _ack(self, payload: bytes) -> None:
        ack = decode_ack(payload)
        if ack.seq > self.last_ack:
            # Recorded in memory now and written by _flush_acks a few times a second: the
            # cloud acks every fact, and one fsync per ack would cap the drain at the disk's
            # commit rate. A crash before the write only means a few facts are sent again.
            self.last_ack = ack.seq
            self.last_ack_at = now_iso()
            self._progress_at = time.monotonic()
            self._ack_dirty.set()
        if ack.resend_from is not None:
            self.rewind(ack.resend_from)

    async def _flush_acks(self) -> None:
        while True:
            await self._ack_dirty.wait()
            self._ack_dirty.clear()
            await outbox.mark_delivered(self.db, self.last_ack)
            if self._reported_backlog and not await outbox.backlog(self.db):
                # Drained: say so now rather than at the next periodic report, so the fleet
                # view does not show a backlog for half a minute after it is gone.
                await self.publish_state()
            await asyncio.sleep(ACK_FLUSH_S)
