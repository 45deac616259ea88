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
from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sync.cloud_peer import CloudPeer
from tests.hub.sync.test_cloud_link import HUB, sell, sync_toml
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


def _all_acked(hub: HubProcess) -> int:
    status = hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)[1]
    return int(status["last_ack"]) if status["backlog"] == 0 else 0


def test_resync_sends_acknowledged_facts_again_and_a_cloud_that_lost_facts_gets_them_back(
    linked: Setup,
) -> None:
    hub, cloud = linked
    ids = seed_catalog(hub)
    for i in range(5):
        sell(hub, ids["SOK1"], f"r{i}")
    last = wait_for(lambda: _all_acked(hub), 15, what="every fact acknowledged")
    assert cloud.seqs(HUB.hub) == list(range(1, last + 1))
    # An admin asks for everything from seq 3 again: the relay sends 3..last once more, the
    # hub's backlog stays empty (those facts were acknowledged) and the job says how many.
    before = len(cloud.delivered)
    send(cloud, "job-9", "resync", from_seq=3)
    assert finished(cloud, "job-9") == "SUCCEEDED"
    # 3..last, and the audit entry of the job itself (recorded as it started).
    assert cloud.result("job-9").result == {"from_seq": 3, "facts_sent_again": last - 1}
    wait_for(lambda: set(range(3, last + 2)) <= set(cloud.delivered[before:]), 10, what="3.. sent again")
    last = wait_for(lambda: _all_acked(hub), 10, what="every fact acknowledged")
    # The cloud is restored from a backup and lost seq 4 on: the next fact shows the hole, the
    # cloud asks for it, and the hub sends the acknowledged facts it had already marked delivered.
    cloud.forget(HUB.hub, 4)
    sell(hub, ids["SOK1"], "after-restore")
    wait_for(lambda: (upto := _all_acked(hub)) > last and cloud.seqs(HUB.hub) == list(range(1, upto + 1)), 15,
             what="the lost facts back")  # fmt: skip
    assert cloud.count(HUB.hub, "sale.completed") == 6
    assert len(cloud.events) == len(cloud.seqs(HUB.hub))  # each fact held once


def test_a_job_waiting_for_paper_does_not_hold_up_acknowledgements(linked: Setup, sim: PrinterSim) -> None:
    hub, cloud = linked
    ids = seed_catalog(hub)
    sim.control("paper_out on")
    send(cloud, "job-10", "test_print", device="receipt")
    wait_for(lambda: cloud.states("job-10") == ["IN_PROGRESS"], 10, what="the job started")
    before = len(cloud.delivered)
    sell(hub, ids["SOK1"], "while-waiting")
    # The sale goes out once and is acknowledged while the job still waits: acks are not
    # queued behind it, so the relay has no reason to send anything again.
    wait_for(
        lambda: cloud.count(HUB.hub, "sale.completed") == 1 and _all_acked(hub), 5, what="sale acknowledged"
    )
    assert cloud.states("job-10") == ["IN_PROGRESS"]
    sim.control("paper_out off")
    assert finished(cloud, "job-10") == "SUCCEEDED"
    delivered = cloud.delivered[before:]
    assert len(delivered) == len(set(delivered))  # nothing sent twice
