"""Durable print jobs: one ordered queue per device, in SQLite.

States: ``queued -> printing -> done``; ``held`` while the printer cannot print (paper out,
cover open, offline) and resuming by itself; ``failed`` after bounded retries; ``canceled`` by a
person. A job is committed before it is acknowledged, and its idempotency key makes a retried
submission return the same job instead of printing twice.

``attempts`` counts the times a job's bytes were sent. A job sent once and not confirmed (the
hub crashed, the link dropped mid-send) may have reached paper, so every later attempt is
printed marked as a copy: nothing is lost, and a person can tell a reprint from a duplicate.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable
from typing import Literal

import msgspec

from hub.db.database import Database, Transaction
from hub.domain import audit, outbox
from hub.domain.clock import now_iso
from hub.domain.events import EventLog

JobState = Literal["queued", "printing", "held", "done", "failed", "canceled"]
JobKind = Literal["document", "raw", "drawer"]
OPEN_STATES: tuple[JobState, ...] = ("queued", "printing", "held")
FINAL_STATES: tuple[JobState, ...] = ("done", "failed", "canceled")


class PrintJob(msgspec.Struct, frozen=True, kw_only=True):
    """A job as the API and the websocket show it."""

    id: int
    device_id: str
    kind: JobKind
    state: JobState
    reason: str | None
    attempts: int
    copies_printed: int
    idempotency_key: str
    source: str
    created_at: str
    updated_at: str
    finished_at: str | None


class IdempotencyConflict(Exception):
    """The idempotency key was used before for a different request."""


class JobNotFound(Exception):
    pass


class InvalidJobState(Exception):
    """The job is not in a state that allows this action."""


_COLUMNS = (
    "id, device_id, kind, state, reason, attempts, copies_printed, idempotency_key, source, "
    "created_at, updated_at, finished_at"
)


def _job(row: sqlite3.Row) -> PrintJob:
    return PrintJob(**{key: row[key] for key in row.keys()})  # noqa: SIM118 - sqlite3.Row


def request_hash(device_id: str, kind: str, payload: bytes) -> str:
    digest = hashlib.sha256()
    for part in (device_id.encode(), kind.encode(), payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class PrintJobs:
    """The job store and its state transitions; each transition is one event."""

    def __init__(self, db: Database, events: EventLog) -> None:
        self._db = db
        self._events = events
        self.on_queued: Callable[[str], None] = lambda device_id: None

    async def record_device_status(
        self, device_id: str, kind: str, status: str, details: dict[str, object]
    ) -> None:
        """A device's status change as a fact for the cloud's fleet view (``device.status``)."""
        async with self._db.transaction() as tx:
            await outbox.append(
                tx,
                "device.status",
                {"device_id": device_id, "kind": kind, "status": status, "details": details, "at": now_iso()},
            )

    async def submit(
        self,
        *,
        device_id: str,
        kind: JobKind,
        payload: bytes,
        rendered: bytes,
        idempotency_key: str | None,
        source: str,
        audit_action: str | None = None,
    ) -> tuple[PrintJob, bool]:
        """Queue a job; returns it and whether it is new (False: same key seen before)."""
        async with self._db.transaction() as tx:
            return await self.enqueue(
                tx,
                device_id=device_id,
                kind=kind,
                payload=payload,
                rendered=rendered,
                idempotency_key=idempotency_key,
                source=source,
                audit_action=audit_action,
            )

    async def enqueue(
        self,
        tx: Transaction,
        *,
        device_id: str,
        kind: JobKind,
        payload: bytes,
        rendered: bytes,
        idempotency_key: str | None,
        source: str,
        audit_action: str | None = None,
    ) -> tuple[PrintJob, bool]:
        """Queue a job inside the caller's transaction (a sale and its receipt commit together)."""
        key = idempotency_key or f"auto-{uuid.uuid4()}"
        digest = request_hash(device_id, kind, payload)
        existing = await tx.fetchone(
            f"SELECT {_COLUMNS}, request_hash FROM print_jobs WHERE idempotency_key = ?",  # noqa: S608
            (key,),
        )
        if existing is not None:
            if existing["request_hash"] != digest:
                raise IdempotencyConflict(f"idempotency key {key!r} was already used for a different request")
            return _job_without_hash(existing), False
        now = now_iso()
        row = await tx.fetchone(
            "INSERT INTO print_jobs (device_id, idempotency_key, request_hash, kind, "  # noqa: S608
            "state, source, created_at, updated_at) "
            f"VALUES (?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING {_COLUMNS}",
            (device_id, key, digest, kind, source, now, now),
        )
        assert row is not None
        job = _job(row)
        await tx.execute(
            "INSERT INTO print_job_data (job_id, payload, rendered) VALUES (?, ?, ?)",
            (job.id, payload, rendered),
        )
        await self._events.append(tx, "job.created", job)
        if audit_action:
            await audit.record(
                tx, actor=source, action=audit_action, target=device_id, details={"job_id": job.id}
            )
        tx.after_commit(lambda: self.on_queued(device_id))
        return job, True

    @staticmethod
    async def _get(tx: Transaction, job_id: int | None) -> PrintJob:
        row = await tx.fetchone(f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", (job_id,))  # noqa: S608
        if row is None:
            raise JobNotFound(f"job {job_id} does not exist")
        return _job(row)

    async def get(self, job_id: int) -> PrintJob:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", (job_id,))  # noqa: S608
        if row is None:
            raise JobNotFound(f"job {job_id} does not exist")
        return _job(row)

    async def query(
        self,
        *,
        device_id: str | None = None,
        states: tuple[str, ...] = (),
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[PrintJob]:
        where: list[str] = []
        params: list[object] = []
        if device_id:
            where.append("device_id = ?")
            params.append(device_id)
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(states)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM print_jobs {clause} ORDER BY id DESC LIMIT ?",  # noqa: S608
            [*params, limit],
        )
        return [_job(row) for row in rows]

    async def counts(self, device_id: str) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT state, COUNT(*) AS n FROM print_jobs WHERE device_id = ? AND state IN "
            "('queued', 'printing', 'held', 'failed') GROUP BY state",
            (device_id,),
        )
        return {row["state"]: row["n"] for row in rows}

    async def next_open(self, device_id: str) -> PrintJob | None:
        """The oldest unfinished job of a device: the queue is strictly in order."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE device_id = ? "  # noqa: S608
            "AND state IN ('queued', 'printing', 'held') ORDER BY id LIMIT 1",
            (device_id,),
        )
        return None if row is None else _job(row)

    async def bytes_to_send(self, job: PrintJob) -> tuple[bytes, bytes, bool]:
        """(payload, rendered bytes, must_mark_copy) of a job."""
        row = await self._db.fetchone(
            "SELECT payload, rendered FROM print_job_data WHERE job_id = ?", (job.id,)
        )
        if row is None:
            raise JobNotFound(f"job {job.id} does not exist")
        return bytes(row["payload"]), bytes(row["rendered"]), job.attempts > 0

    async def _transition(
        self,
        job_id: int,
        state: JobState,
        *,
        reason: str | None = None,
        sent: bool = False,
        copy: bool = False,
        only_from: tuple[JobState, ...] = OPEN_STATES,
        urgent: bool = True,
    ) -> PrintJob:
        # Urgent by default: most transitions record a job on its way to paper, which goes
        # before accepting new jobs (hub.db.write_lock); people's actions pass urgent=False.
        now = now_iso()
        async with self._db.transaction(urgent=urgent) as tx:
            row = await tx.fetchone(
                f"UPDATE print_jobs SET state = ?, reason = ?, updated_at = ?, "  # noqa: S608
                "attempts = attempts + ?, copies_printed = copies_printed + ?, "
                "finished_at = CASE WHEN ? IN ('done', 'failed', 'canceled') THEN ? ELSE NULL END "
                f"WHERE id = ? AND state IN ({', '.join('?' * len(only_from))}) RETURNING {_COLUMNS}",
                (state, reason, now, int(sent), int(copy), state, now, job_id, *only_from),
            )
            if row is None:
                current = await self._get(tx, job_id)
                raise InvalidJobState(f"job {job_id} is {current.state}; cannot make it {state}")
            job = _job(row)
            await self._events.append(tx, "job.updated", job)
        return job

    async def mark_printing(self, job: PrintJob) -> PrintJob:
        """The bytes are about to leave: from now on a crash means 'reprint as a copy'."""
        reason = "reprint, marked as a copy" if job.attempts else None
        return await self._transition(job.id, "printing", reason=reason, sent=True)

    async def mark_held(self, job: PrintJob, reason: str) -> PrintJob:
        if job.state == "held" and job.reason == reason:
            return job
        return await self._transition(job.id, "held", reason=reason)

    async def mark_resumed(self, job: PrintJob) -> PrintJob:
        """A job held while already sent is printing again (the printer recovered)."""
        return await self._transition(job.id, "printing", reason=job.reason, only_from=("held",))

    async def mark_done(self, job: PrintJob, *, was_copy: bool) -> PrintJob:
        return await self._transition(job.id, "done", copy=was_copy)

    async def mark_send_failed(self, job: PrintJob, reason: str, *, max_attempts: int) -> PrintJob:
        """An attempt that may have reached paper failed: retry (as a copy) or give up."""
        if job.attempts >= max_attempts:
            return await self._transition(
                job.id, "failed", reason=f"{reason} (gave up after {job.attempts} attempts)"
            )
        return await self._transition(job.id, "queued", reason=reason)

    async def mark_failed(self, job: PrintJob, reason: str) -> PrintJob:
        return await self._transition(job.id, "failed", reason=reason)

    async def cancel(self, job_id: int, actor: str) -> PrintJob:
        """Cancel a job that has not started printing."""
        job = await self._transition(
            job_id, "canceled", reason=f"canceled by {actor}", only_from=("queued", "held"), urgent=False
        )
        async with self._db.transaction() as tx:
            await audit.record(
                tx,
                actor=actor,
                action="job.canceled",
                target=job.device_id,
                details={"job_id": job_id},
            )
        return job

    async def retry(self, job_id: int, actor: str) -> PrintJob:
        """Put a failed job back in its queue; it keeps its place by id order."""
        job = await self._transition(
            job_id, "queued", reason=f"retried by {actor}", only_from=("failed",), urgent=False
        )
        self.on_queued(job.device_id)
        return job

    async def recover_interrupted(self) -> list[PrintJob]:
        """At start-up: jobs caught mid-print by a crash go back to their queue.

        Their attempt was already counted when they were sent, so they print again once, marked
        as a copy, in their original place in the queue.
        """
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE state = 'printing'"  # noqa: S608
        )
        recovered = []
        for row in rows:
            recovered.append(
                await self._transition(
                    row["id"],
                    "queued",
                    reason="interrupted by a restart; reprinting as a copy",
                    only_from=("printing",),
                )
            )
        return recovered


def _job_without_hash(row: sqlite3.Row) -> PrintJob:
    return PrintJob(**{key: row[key] for key in row.keys() if key != "request_hash"})  # noqa: SIM118
