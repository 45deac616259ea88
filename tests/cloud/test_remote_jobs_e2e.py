"""Remote jobs end to end: an admin sends a job through the cloud's API, the cloud's bridge
delivers it over the real broker, the hub runs it on the printer simulator and the cloud shows
the outcome. A job waits for an offline hub, unless it expires first."""

from __future__ import annotations

import re
from typing import Any

from tests.cloud.stack_support import Stack
from tests.support.procs import PrinterSim, wait_for

FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED")


def queue(stack: Stack, kind: str, ttl_s: int | None = None, **params: Any) -> str:
    body: dict[str, Any] = {"kind": kind, "params": params}
    if ttl_s is not None:
        body["ttl_s"] = ttl_s
    status, job = stack.cloud.api("POST", f"/api/v1/hubs/{stack.hub_id}/jobs", body)
    assert status == 201, job
    return str(job["id"])


def job(stack: Stack, job_id: str) -> dict[str, Any]:
    status, body = stack.cloud.api("GET", f"/api/v1/jobs/{job_id}")
    assert status == 200, body
    return dict(body)


def finished(stack: Stack, job_id: str, timeout: float = 30) -> dict[str, Any]:
    return dict(wait_for(lambda: (j := job(stack, job_id))["state"] in FINAL and j, timeout,
                         interval=0.2, what=f"job {job_id} finished"))  # fmt: skip


def test_jobs_sent_from_the_cloud_run_on_the_hub(stack: Stack, sim: PrinterSim) -> None:
    hub = stack.hub.start()
    wait_for(lambda: stack.fleet_hub()["online"], 20, what="the hub online in the fleet view")
    printed = finished(stack, queue(stack, "test_print", device="receipt"))
    assert printed["state"] == "SUCCEEDED", printed
    assert printed["started_at"] is not None and printed["result"]["print_job_id"] >= 1
    assert sim.paper().count("č ć đ š ž") == 1  # the test page, once

    drawer = finished(stack, queue(stack, "open_drawer", device="receipt", reason="count the float"))
    assert drawer["state"] == "SUCCEEDED"
    assert re.search(r"\[DRAWER pin=2", sim.paper())
    audit = hub.api("GET", "/api/v1/audit?action=drawer.opened", token=hub.admin_token)[1]["entries"]
    assert audit and audit[0]["actor"] == f"cloud:job:{drawer['id']}"

    missing = finished(stack, queue(stack, "test_print", device="kitchen"))
    assert missing["state"] == "FAILED" and "no device" in missing["detail"]


def test_a_job_waits_for_an_offline_hub_unless_it_expires(stack: Stack, sim: PrinterSim) -> None:
    # The hub is not running yet: both jobs wait in the cloud.
    expiring = queue(stack, "test_print", ttl_s=10, device="receipt")
    waiting = queue(stack, "diagnostics")
    expired = finished(stack, expiring, timeout=30)
    assert (expired["state"], expired["sent_at"]) == ("TIMED_OUT", None)
    assert job(stack, waiting)["state"] == "QUEUED"

    stack.hub.start()
    diagnostics = finished(stack, waiting)
    assert diagnostics["state"] == "SUCCEEDED", diagnostics
    assert diagnostics["result"]["software_version"] == stack.fleet_hub()["software_version"]
    assert [d["id"] for d in diagnostics["result"]["devices"]] == ["receipt"]
    assert "č ć đ š ž" not in sim.paper()  # the expired test print never ran
    assert job(stack, expiring)["state"] == "TIMED_OUT"
