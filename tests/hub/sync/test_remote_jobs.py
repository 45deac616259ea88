"""Remote jobs from the cloud, end to end through a real Mosquitto to a hub with the printer
simulator: each job runs once, reports its lifecycle, and an expired job does not run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from protocols.sync.messages import JobRequest, encode
from tests.hub.sync.cloud_peer import CloudPeer
from tests.hub.sync.test_cloud_link import HUB, sync_toml
from tests.support.broker import MosquittoBroker
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for

Setup = tuple[HubProcess, CloudPeer]


@pytest.fixture
def linked(tmp_path: Path, sim: PrinterSim) -> Iterator[Setup]:
    broker = MosquittoBroker(tmp_path)
    broker.add_hub(HUB, "secret-a")
    broker.start()
    try:
        cloud = CloudPeer(broker.port)
        try:
            hub = HubProcess(
                tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)], extra_toml=sync_toml(broker)
            )
            hub.start()
            try:
                wait_for(lambda: hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]["connected"], 10,
                         what="link up")  # fmt: skip
                yield hub, cloud
            finally:
                hub.stop()
        finally:
            cloud.close()
    finally:
        broker.stop()


def send(cloud: CloudPeer, job_id: str, kind: str, expires_in_s: float = 60, **params: Any) -> None:
    expires = (datetime.now(UTC) + timedelta(seconds=expires_in_s)).isoformat()
    job = JobRequest(job_id=job_id, kind=kind, params=params, expires_at=expires)  # type: ignore[arg-type]
    cloud.client.publish(HUB.down_jobs, encode(job), qos=1).wait_for_publish(5)


def finished(cloud: CloudPeer, job_id: str) -> str:
    return str(wait_for(lambda: next((s for s in cloud.states(job_id) if s not in ("QUEUED", "IN_PROGRESS")), None),
                        20, what=f"job {job_id} finished"))  # fmt: skip


def test_a_test_print_runs_once_even_when_delivered_twice(linked: Setup, sim: PrinterSim) -> None:
    _, cloud = linked
    send(cloud, "job-1", "test_print", device="receipt")
    assert finished(cloud, "job-1") == "SUCCEEDED"
    assert cloud.states("job-1") == ["IN_PROGRESS", "SUCCEEDED"]
    send(cloud, "job-1", "test_print", device="receipt")  # a repeat delivery
    wait_for(lambda: len(cloud.states("job-1")) == 3, 10, what="the repeat answered")
    assert cloud.states("job-1")[-1] == "SUCCEEDED"
    assert sim.paper().count("č ć đ š ž") == 1


def test_drawer_x_report_and_diagnostics(linked: Setup, sim: PrinterSim) -> None:
    hub, cloud = linked
    send(cloud, "job-2", "open_drawer", device="receipt", reason="count the float")
    send(cloud, "job-3", "x_report")
    send(cloud, "job-4", "diagnostics")
    assert [finished(cloud, j) for j in ("job-2", "job-3", "job-4")] == ["SUCCEEDED"] * 3
    assert re.search(r"\[DRAWER pin=2", sim.paper())
    assert cloud.result("job-4").result["software_version"] and cloud.result("job-4").result["backlog"] >= 0
    # The retained reported state shows the hub's devices for the fleet view.
    state = cloud.states_reported[-1]
    assert state.software_version and [(d.id, d.kind, d.status) for d in state.devices] == [
        ("receipt", "printer", "online")
    ]
    audit = hub.api("GET", "/api/v1/audit?action=drawer.opened", token=hub.admin_token)[1]["entries"]
    assert audit and audit[0]["actor"] == "cloud:job:job-2"


def test_expired_unknown_device_and_restart(linked: Setup, sim: PrinterSim) -> None:
    _, cloud = linked
    send(cloud, "job-5", "test_print", expires_in_s=-1, device="receipt")
    assert finished(cloud, "job-5") == "TIMED_OUT"
    send(cloud, "job-6", "test_print", device="kitchen")
    assert finished(cloud, "job-6") == "FAILED" and "no device" in cloud.result("job-6").detail
    send(cloud, "job-7", "restart_device", device="receipt")
    assert finished(cloud, "job-7") == "SUCCEEDED"
    send(cloud, "job-8", "test_print", device="receipt")  # the fresh driver prints
    assert finished(cloud, "job-8") == "SUCCEEDED"
    assert "č ć đ š ž" in sim.paper()
