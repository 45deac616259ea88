"""Wire types of remote jobs: what an admin sends and what the API shows of a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from cloud.db.models import RemoteJob
from protocols.sync.messages import JobKind

DAY_S = 86400


class JobCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A job for a hub.

    ``ttl_s`` is how long it may wait for the hub to come online (default a day);
    ``timeout_s`` how long the hub has to finish once it started.
    """

    kind: JobKind
    params: dict[str, Any] = {}
    ttl_s: Annotated[int, msgspec.Meta(ge=10, le=7 * DAY_S)] = DAY_S
    timeout_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 120


class JobRead(msgspec.Struct, kw_only=True):
    """A job and where it is in its lifecycle.

    ``late_update`` holds what the hub reported after the cloud had already timed the job
    out (for instance a drawer that did open after all).
    """

    id: uuid.UUID
    hub_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    state: str
    detail: str
    result: dict[str, Any]
    late_update: dict[str, Any] | None
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    timeout_s: int
    sent_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: RemoteJob) -> JobRead:
        """From a row."""
        result = dict(job.result or {})
        late = result.pop("late_update", None)
        return cls(
            id=job.id, hub_id=job.hub_id, kind=job.kind, params=job.params, state=job.state, detail=job.detail,
            result=result, late_update=late, created_by=job.created_by, created_at=job.created_at,
            expires_at=job.expires_at, timeout_s=job.timeout_s, sent_at=job.sent_at, started_at=job.started_at,
            finished_at=job.finished_at,
        )  # fmt: skip
