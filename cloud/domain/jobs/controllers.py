"""``/api/v1/hubs/{id}/jobs`` and ``/api/v1/jobs/{id}``: remote commands for hubs."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.domain.auth.scopes import requires_scope
from cloud.domain.auth.services import Caller
from cloud.domain.jobs.schemas import JobCreate, JobRead
from cloud.domain.jobs.services import JobService
from protocols.sync.messages import JobState


def _wake_bridge(state: State) -> None:
    bridge = getattr(state, "bridge", None)
    if bridge is not None:
        bridge.jobs_changed()


class JobController(Controller):
    """Jobs of the caller's tenant: queue, follow, cancel."""

    path = "/api/v1"
    tags = ["jobs"]  # noqa: RUF012

    @post("/hubs/{hub_id:uuid}/jobs", guards=[requires_scope("jobs:write")])
    async def create_job(
        self, hub_id: uuid.UUID, data: JobCreate, caller: Caller, db_session: AsyncSession, state: State
    ) -> JobRead:
        """Queue a job for a hub; it is delivered as soon as the hub is online, until ``ttl_s``.

        Kinds: ``test_print`` {device}, ``open_drawer`` {device, reason} (admins, audited on the
        hub), ``x_report``, ``restart_device`` {device} (admins), ``diagnostics``, ``resync``
        {from_seq?} (admins). 422 ``invalid_params`` names the parameter that does not fit.
        """
        job = await JobService(db_session).create(caller, hub_id, data, utcnow())
        _wake_bridge(state)
        return JobRead.of(job)

    @get("/hubs/{hub_id:uuid}/jobs", guards=[requires_scope("fleet:read")])
    async def list_jobs(
        self,
        hub_id: uuid.UUID,
        caller: Caller,
        db_session: AsyncSession,
        job_state: Annotated[JobState | None, Parameter(query="state")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[JobRead]:
        """A hub's jobs, newest first (``?state=`` to filter)."""
        return [JobRead.of(j) for j in await JobService(db_session).list(caller, hub_id, job_state, limit)]

    @get("/jobs/{job_id:uuid}", guards=[requires_scope("fleet:read")])
    async def get_job(self, job_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> JobRead:
        """One job with its state, detail, result and any late update from the hub."""
        return JobRead.of(await JobService(db_session).get(caller, job_id))

    @post("/jobs/{job_id:uuid}/cancel", status_code=200, guards=[requires_scope("jobs:write")])
    async def cancel_job(self, job_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> JobRead:
        """Cancel a job that has not reached its hub (admins); 409 ``job_not_cancelable`` after."""
        return JobRead.of(await JobService(db_session).cancel(caller, job_id, utcnow()))
