"""Remote jobs in the cloud: roles, parameters, the lifecycle as the bridge drives it, cancel,
timeouts, late reports and tenant isolation (SQLite and PostgreSQL). The bridge's own
functions are called here on a real database; the MQTT path is in ``test_remote_jobs_e2e``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from cloud.db.base import utcnow
from cloud.db.models import Hub, RemoteJob
from cloud.domain.jobs import services as jobs
from protocols.sync.messages import JobState, JobUpdate
from tests.cloud.conftest import Cloud, Tenancy


async def claimed_hub(cloud: Cloud, tenancy: Tenancy, *, online: bool = True) -> str:
    """A claimed hub of the tenant's first store, online on session 1 unless told otherwise."""
    added = await cloud.client.post(f"/api/v1/stores/{tenancy.stores[0]}/hubs", json={"name": "Till"},
                                    headers=tenancy.headers)  # fmt: skip
    assert added.status_code == 201, added.text
    claimed = await cloud.client.post("/api/v1/hubs/claim", json={"code": added.json()["claim_code"]})
    assert claimed.status_code == 200, claimed.text
    hub_id = str(added.json()["hub"]["id"])
    async with cloud.sessions() as session:
        await session.execute(update(Hub).where(Hub.id == uuid.UUID(hub_id)).values(online=online, session=1))
        await session.commit()
    return hub_id


async def send(cloud: Cloud, headers: dict[str, str], hub_id: str, kind: str, **params: Any) -> Any:
    return await cloud.client.post(f"/api/v1/hubs/{hub_id}/jobs", json={"kind": kind, "params": params},
                                   headers=headers)  # fmt: skip


async def read(cloud: Cloud, tenancy: Tenancy, job_id: str) -> dict[str, Any]:
    response = await cloud.client.get(f"/api/v1/jobs/{job_id}", headers=tenancy.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def deliver(cloud: Cloud) -> list[str]:
    """What the bridge's delivery tick does, minus the publish: the ids it would send."""
    async with cloud.sessions() as session:
        now = utcnow()
        sent = [str(job.id) for job, hub in await jobs.due_for_delivery(session, now)
                if await jobs.mark_sent(session, job, hub.session, now)]  # fmt: skip
        await session.commit()
    return sent


async def report(cloud: Cloud, hub_id: str, job_id: str, state: JobState, **result: Any) -> bool:
    async with cloud.sessions() as session:
        update_ = JobUpdate(
            job_id=job_id, state=state, detail=f"hub says {state}", result=result, at="2026-11-22T12:00:00Z"
        )
        changed = await jobs.apply_update(session, uuid.UUID(hub_id), update_, utcnow())
        await session.commit()
    return changed


async def test_a_job_goes_to_its_hub_once_per_connection_and_ends_with_the_hub_report(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id = await claimed_hub(cloud, acme)
    created = await send(cloud, acme.headers, hub_id, "test_print", device="receipt")
    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["state"], job["params"], job["sent_at"]) == ("QUEUED", {"device": "receipt"}, None)

    assert await deliver(cloud) == [job["id"]]
    assert await deliver(cloud) == []  # not again on the same connection
    refused = await cloud.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=acme.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_not_cancelable"

    async with cloud.sessions() as session:  # the hub reconnects before it got the job
        await session.execute(update(Hub).where(Hub.id == uuid.UUID(hub_id)).values(session=2))
        await session.commit()
    assert await deliver(cloud) == [job["id"]]

    assert await report(cloud, hub_id, job["id"], "IN_PROGRESS")
    assert not await report(cloud, hub_id, job["id"], "IN_PROGRESS")  # a QoS 1 repeat
    assert (await read(cloud, acme, job["id"]))["started_at"] is not None
    assert await deliver(cloud) == []  # started: never sent again
    assert await report(cloud, hub_id, job["id"], "SUCCEEDED", print_job_id=7)
    assert not await report(cloud, hub_id, job["id"], "IN_PROGRESS")  # reordered: no step back
    done = await read(cloud, acme, job["id"])
    assert (done["state"], done["result"], done["late_update"]) == ("SUCCEEDED", {"print_job_id": 7}, None)
    listed = await cloud.client.get(f"/api/v1/hubs/{hub_id}/jobs?state=SUCCEEDED", headers=acme.headers)
    assert [j["id"] for j in listed.json()] == [job["id"]]


async def test_managers_send_harmless_jobs_only_and_params_are_checked(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id = await claimed_hub(cloud, acme)
    await cloud.user(acme.tenant_id, "manager@acme.example", role="manager")
    manager = await cloud.login("manager@acme.example")
    for kind, params in [("test_print", {"device": "receipt"}), ("x_report", {}), ("diagnostics", {})]:
        assert (await send(cloud, manager, hub_id, kind, **params)).status_code == 201
    for kind, params in [("open_drawer", {"device": "receipt", "reason": "float"}), ("resync", {}),
                         ("restart_device", {"device": "receipt"})]:  # fmt: skip
        refused = await send(cloud, manager, hub_id, kind, **params)
        assert refused.status_code == 403, (kind, refused.text)
    no_reason = await send(cloud, acme.headers, hub_id, "open_drawer", device="receipt")
    assert no_reason.status_code == 422
    assert no_reason.json()["error"] | {"message": ""} == {
        "code": "invalid_params", "message": "", "details": {"field": "params.reason"}
    }  # fmt: skip
    unknown_kind = await send(cloud, acme.headers, hub_id, "format_disk")
    assert unknown_kind.status_code == 400
    opened = await send(cloud, acme.headers, hub_id, "open_drawer", device="receipt", reason="float count")
    assert opened.status_code == 201
    assert opened.json()["created_by"] is not None  # who opened it is on the job


async def test_cancel_wins_only_before_delivery(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id = await claimed_hub(cloud, acme, online=False)
    job = (await send(cloud, acme.headers, hub_id, "x_report")).json()
    assert await deliver(cloud) == []  # the hub is offline: the job waits
    canceled = await cloud.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=acme.headers)
    assert canceled.status_code == 200 and canceled.json()["state"] == "CANCELED"
    again = await cloud.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=acme.headers)
    assert again.status_code == 409
    async with cloud.sessions() as session:
        await session.execute(update(Hub).where(Hub.id == uuid.UUID(hub_id)).values(online=True))
        await session.commit()
    assert await deliver(cloud) == []  # a canceled job never reaches the hub


async def test_overdue_jobs_time_out_and_a_late_outcome_is_kept(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id = await claimed_hub(cloud, acme, online=False)
    waiting = (await send(cloud, acme.headers, hub_id, "diagnostics")).json()
    running = (await send(cloud, acme.headers, hub_id, "x_report")).json()
    fresh = (await send(cloud, acme.headers, hub_id, "x_report")).json()
    async with cloud.sessions() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(
            update(RemoteJob).where(RemoteJob.id == uuid.UUID(waiting["id"])).values(expires_at=past)
        )
        await session.execute(update(RemoteJob).where(RemoteJob.id == uuid.UUID(running["id"]))
                              .values(state="IN_PROGRESS", started_at=past - timedelta(seconds=120)))  # fmt: skip
        await session.commit()
        assert await jobs.sweep_timeouts(session, utcnow()) == 2
        await session.commit()
    expired, stuck = await read(cloud, acme, waiting["id"]), await read(cloud, acme, running["id"])
    assert (expired["state"], expired["detail"]) == ("TIMED_OUT", "expired before the hub started it")
    assert (stuck["state"], stuck["detail"]) == ("TIMED_OUT", "no result from the hub within 120 s")
    assert (await read(cloud, acme, fresh["id"]))["state"] == "QUEUED"

    assert await report(cloud, hub_id, running["id"], "SUCCEEDED", net_total=1250)
    late = await read(cloud, acme, running["id"])
    assert late["state"] == "TIMED_OUT"
    assert late["late_update"]["state"] == "SUCCEEDED" and late["late_update"]["result"] == {
        "net_total": 1250
    }
    assert not await report(cloud, hub_id, running["id"], "SUCCEEDED", net_total=1250)


async def test_reports_for_unknown_or_foreign_jobs_are_refused(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    mine, other = await claimed_hub(cloud, acme), await claimed_hub(cloud, acme)
    job = (await send(cloud, acme.headers, other, "x_report")).json()
    for job_id in (job["id"], str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(jobs.JobReportRefused):
            await report(cloud, mine, job_id, "SUCCEEDED")
    assert (await read(cloud, acme, job["id"]))["state"] == "QUEUED"


async def test_jobs_of_another_tenant_are_404_and_unclaimed_hubs_take_none(cloud: Cloud) -> None:
    acme, globex = await cloud.tenancy("Acme"), await cloud.tenancy("Globex")
    hub_id = await claimed_hub(cloud, acme)
    job = (await send(cloud, acme.headers, hub_id, "x_report")).json()
    for method, path in [("POST", f"/api/v1/hubs/{hub_id}/jobs"), ("GET", f"/api/v1/hubs/{hub_id}/jobs"),
                         ("GET", f"/api/v1/jobs/{job['id']}"), ("POST", f"/api/v1/jobs/{job['id']}/cancel")]:  # fmt: skip
        body = {"kind": "x_report"} if method == "POST" else None
        response = await cloud.client.request(method, path, json=body, headers=globex.headers)
        assert response.status_code == 404, (path, response.text)
    assert (await read(cloud, acme, job["id"]))["state"] == "QUEUED"

    pending = await cloud.client.post(f"/api/v1/stores/{acme.stores[0]}/hubs", json={"name": "Spare"},
                                      headers=acme.headers)  # fmt: skip
    refused = await send(cloud, acme.headers, pending.json()["hub"]["id"], "x_report")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "hub_not_active"
