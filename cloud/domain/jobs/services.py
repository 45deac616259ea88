"""Remote jobs in the database: what admins send (:class:`JobService`) and what the MQTT bridge
does with them (the module functions).

Every state change is a conditional ``UPDATE ... WHERE state = <the state read>``, so the
bridge's delivery and timeout sweep, a hub's report and an admin's cancel can race without one
silently overwriting another: the loser's update matches no row and it re-reads. A job is
marked sent *before* it is published, so a cancel either wins (the job is never published) or
is refused with 409 (the hub may already run it); a cancel is never a lie about a drawer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Hub, RemoteJob
from cloud.domain.auth.services import Caller
from cloud.domain.jobs.rules import (
    MANAGER_KINDS,
    BadParams,
    Effect,
    check_params,
    on_report,
    overdue,
    should_send,
)
from cloud.domain.jobs.schemas import JobCreate
from cloud.errors import DomainError, NotFound
from protocols.sync.messages import JobRequest, JobUpdate

DELIVERY_BATCH = 200


class JobReportRefused(ValueError):
    """A hub's job report the cloud cannot take (unknown job, another hub's job): dead letter."""


async def _set(session: AsyncSession, job: RemoteJob, expected_state: str, **values: Any) -> bool:
    """Change ``job`` only if it is still in ``expected_state``; True when it was changed."""
    result = await session.execute(
        update(RemoteJob)
        .where(RemoteJob.id == job.id, RemoteJob.state == expected_state)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def job_request(job: RemoteJob) -> JobRequest:
    """The ``down/jobs`` message for ``job``."""
    return JobRequest(job_id=str(job.id), kind=job.kind, params=job.params,  # type: ignore[arg-type]
                      expires_at=job.expires_at.isoformat())  # fmt: skip


async def due_for_delivery(
    session: AsyncSession, now: datetime, limit: int = DELIVERY_BATCH
) -> list[tuple[RemoteJob, Hub]]:
    """Queued jobs of online, active hubs that must be sent now (see ``rules.should_send``)."""
    rows = await session.execute(
        select(RemoteJob, Hub)
        .join(Hub, Hub.id == RemoteJob.hub_id)
        .where(RemoteJob.state == "QUEUED", Hub.online.is_(True), Hub.status == "active")
        .order_by(RemoteJob.created_at)
    )
    due = [
        (job, hub)
        for job, hub in rows.tuples()
        if should_send(job.state, job.expires_at, job.sent_session, job.sent_at, hub.session, now)  # type: ignore[arg-type]
    ]
    return due[:limit]


async def mark_sent(session: AsyncSession, job: RemoteJob, hub_session: int, now: datetime) -> bool:
    """Record that ``job`` goes out on ``hub_session``; False if it left QUEUED meanwhile.

    Commit before publishing: a job canceled in between is then never published.
    """
    return await _set(session, job, "QUEUED", sent_at=now, sent_session=hub_session)


async def sweep_timeouts(session: AsyncSession, now: datetime) -> int:
    """Time out queued jobs past their expiry and started ones past their timeout."""
    jobs = (
        await session.scalars(select(RemoteJob).where(RemoteJob.state.in_(("QUEUED", "IN_PROGRESS"))))
    ).all()
    count = 0
    for job in jobs:
        reason = overdue(job.state, now, job.expires_at, job.started_at, job.timeout_s)  # type: ignore[arg-type]
        if reason and await _set(session, job, job.state, state="TIMED_OUT", detail=reason, finished_at=now):
            count += 1
    return count


async def apply_update(session: AsyncSession, hub_id: uuid.UUID, report: JobUpdate, now: datetime) -> bool:
    """Take a hub's report on one of its jobs; True when it changed something.

    Raises :class:`JobReportRefused` for a job that does not exist or is not this hub's.
    """
    try:
        job_id = uuid.UUID(report.job_id)
    except ValueError:
        raise JobReportRefused(f"job id {report.job_id!r} is not a UUID") from None
    for _ in range(3):  # re-read when a concurrent change won the race
        job = await session.get(RemoteJob, job_id, populate_existing=True)
        if job is None or job.hub_id != hub_id:
            raise JobReportRefused(f"no job {report.job_id} for this hub")
        late = (job.result or {}).get("late_update")
        effect = on_report(job.state, report.state, late.get("state") if isinstance(late, dict) else None)  # type: ignore[arg-type]
        if effect is Effect.IGNORE:
            return False
        if effect is Effect.LATE:
            entry = {"state": report.state, "detail": report.detail, "result": report.result, "at": report.at}
            values: dict[str, Any] = {"result": {**(job.result or {}), "late_update": entry}}
        elif report.state == "IN_PROGRESS":
            # The cloud's clock starts the timeout: the hub's may be off.
            values = {"state": "IN_PROGRESS", "started_at": now}
        else:
            values = {
                "state": report.state,
                "detail": report.detail,
                "result": report.result,
                "finished_at": now,
            }
        if await _set(session, job, job.state, **values):
            return True
    return False


class JobService:
    """Remote jobs of the caller's tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _hub(self, caller: Caller, hub_id: uuid.UUID) -> Hub:
        hub = await self.session.scalar(
            select(Hub).where(Hub.id == hub_id, Hub.tenant_id == caller.tenant_id)
        )
        if hub is None:
            raise NotFound("hub")
        return hub

    async def create(self, caller: Caller, hub_id: uuid.UUID, data: JobCreate, now: datetime) -> RemoteJob:
        """Queue a job for one of the tenant's hubs.

        Managers may send test prints, X reports and diagnostics; everything else needs an
        owner or admin. Opening a drawer needs a ``reason``, kept with the job and written to
        the hub's audit log.
        """
        if data.kind not in MANAGER_KINDS:
            caller.require_admin()
        hub = await self._hub(caller, hub_id)
        if hub.status != "active":
            raise DomainError(409, "hub_not_active", f"the hub is {hub.status}; only a claimed hub runs jobs")
        try:
            params = check_params(data.kind, dict(data.params))
        except BadParams as exc:
            raise DomainError(422, "invalid_params", str(exc), {"field": f"params.{exc.field}"}) from None
        job = RemoteJob(
            tenant_id=caller.tenant_id, hub_id=hub.id, kind=data.kind, params=params, state="QUEUED", detail="",
            result={}, created_by=caller.user_id, expires_at=now + timedelta(seconds=data.ttl_s),
            timeout_s=data.timeout_s, created_at=now,
        )  # fmt: skip
        self.session.add(job)
        await self.session.commit()
        return job

    async def get(self, caller: Caller, job_id: uuid.UUID) -> RemoteJob:
        """One job of the tenant; another tenant's job is 404."""
        job = await self.session.scalar(
            select(RemoteJob).where(RemoteJob.id == job_id, RemoteJob.tenant_id == caller.tenant_id)
        )
        if job is None:
            raise NotFound("job")
        return job

    async def list(
        self, caller: Caller, hub_id: uuid.UUID, state: str | None, limit: int
    ) -> Sequence[RemoteJob]:
        """A hub's jobs, newest first, optionally in one state."""
        hub = await self._hub(caller, hub_id)
        query = select(RemoteJob).where(RemoteJob.hub_id == hub.id, RemoteJob.tenant_id == caller.tenant_id)
        if state is not None:
            query = query.where(RemoteJob.state == state)
        query = query.order_by(RemoteJob.created_at.desc(), RemoteJob.id).limit(limit)
        return (await self.session.scalars(query)).all()

    async def cancel(self, caller: Caller, job_id: uuid.UUID, now: datetime) -> RemoteJob:
        """Cancel a job that has not gone to its hub yet; 409 ``job_not_cancelable`` otherwise."""
        caller.require_admin()
        job = await self.get(caller, job_id)
        result = await self.session.execute(
            update(RemoteJob)
            .where(RemoteJob.id == job.id, RemoteJob.state == "QUEUED", RemoteJob.sent_at.is_(None))
            .values(
                state="CANCELED", detail="canceled by an admin before it reached the hub", finished_at=now
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.rollback()
            await self.session.refresh(job)
            why = (
                "it already went to the hub, which may be running it"
                if job.state == "QUEUED"
                else "it is final"
            )
            raise DomainError(
                409, "job_not_cancelable", f"the job is {job.state}: {why}", {"state": job.state}
            )
        await self.session.commit()
        await self.session.refresh(job)
        return job
