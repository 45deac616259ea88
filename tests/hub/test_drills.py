"""Reliability drills from the issue: kill -9 mid-queue, paper out mid-queue, printer down at start."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.support.procs import HubProcess, PrinterSim, printer_device, receipt, wait_for


def receipts_on_paper(paper: str) -> list[tuple[str, bool]]:
    """(title, marked_as_copy) for every complete receipt, in paper order."""
    found = []
    for chunk in paper.split("--- CUT ---")[:-1]:
        titles = re.findall(r"DRILL-\d{3}", chunk)
        if titles:
            found.append((titles[-1], "KOPIJA" in chunk))
    return found


def _mid_print(paper: str, title: str) -> bool:
    """The receipt ``title`` has started on paper and has not been cut yet."""
    at = paper.rfind(title)
    return at >= 0 and "--- CUT ---" not in paper[at:]


def test_kill9_with_50_queued_jobs_prints_each_once_in_order(tmp_path: Path) -> None:
    # Slow paper (about two seconds per 40-line receipt), so the kill lands while DRILL-002 is
    # half on paper and most of the queue is still waiting; then full speed to drain.
    sim = PrinterSim(tmp_path, speed=100).start()
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5)]).start()
    try:
        titles = [f"DRILL-{i:03d}" for i in range(50)]
        ids = []
        for title in titles:
            status, job = hub.api(
                "POST",
                "/api/v1/devices/receipt/jobs",
                body={"document": receipt(title, lines=40), "idempotency_key": title},
            )
            assert status == 201
            ids.append(job["id"])
        wait_for(
            lambda: _mid_print(sim.paper(), "DRILL-002"),
            timeout=30,
            what="DRILL-002 half printed",
        )
        hub.kill9()
        sim.control("speed 0")
        before_restart = receipts_on_paper(sim.paper())
        assert len(before_restart) < 50, "the drill needs jobs still queued at the kill"
        # A retry after the crash with the same keys must not create new jobs.
        hub.start()
        for title in titles[:5]:
            status, _ = hub.api(
                "POST",
                "/api/v1/devices/receipt/jobs",
                body={"document": receipt(title, lines=40), "idempotency_key": title},
            )
            assert status == 200
        wait_for(
            lambda: all(hub.job(i)["state"] == "done" for i in ids[-3:]),
            timeout=90,
            what="queue drained",
        )
        for job_id in ids:
            assert hub.job(job_id)["state"] == "done"
        printed = receipts_on_paper(sim.paper())
        originals = [t for t, copy in printed if not copy]
        copies = [t for t, copy in printed if copy]
        # The queue was printing when killed, so exactly one job was caught mid-print.
        assert len(copies) == 1, f"the job cut off by the kill reprints once, marked: {copies}"
        cut_off = ids[titles.index(copies[0])]
        assert (hub.job(cut_off)["attempts"], hub.job(cut_off)["copies_printed"]) == (2, 1)
        # Every job printed once as an original, in order; a cut-off job appears once more as a copy.
        assert sorted(set(originals) | set(copies)) == titles
        assert [t for t in originals if t not in copies] == [t for t in titles if t not in copies]
        for title in copies:
            # The copy comes right after the interrupted job's own (possibly cut-off) print,
            # before any job that was queued behind it.
            if title in originals:
                assert printed.index((title, True)) == printed.index((title, False)) + 1
            assert (
                titles.index(title) == len(before_restart) or titles.index(title) == len(before_restart) - 1
            )
        assert len(originals) + len(copies) == len(printed)
        assert len(set(originals)) == len(originals), "no job printed twice as an original"
    finally:
        hub.stop()
        sim.stop()


def test_paper_out_holds_queue_then_resumes_in_order(tmp_path: Path) -> None:
    sim = PrinterSim(tmp_path).start()
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.3)]).start()
    try:
        status, first = hub.api(
            "POST", "/api/v1/devices/receipt/jobs", body={"document": receipt("DRILL-000")}
        )
        hub.wait_job(first["id"])
        sim.control("paper_out on")
        ids = []
        for i in range(1, 6):
            status, job = hub.api(
                "POST", "/api/v1/devices/receipt/jobs", body={"document": receipt(f"DRILL-{i:03d}")}
            )
            assert status == 201
            ids.append(job["id"])
        held = hub.wait_job(ids[0], "held")
        assert held["reason"] == "paper_out"
        status, device = hub.api("GET", "/api/v1/devices/receipt")
        assert device["status"] == "error" and "paper_out" in device["conditions"]
        time.sleep(1.0)
        assert all(hub.job(i)["state"] in ("queued", "held") for i in ids), "nothing prints without paper"
        assert [t for t, _ in receipts_on_paper(sim.paper())] == ["DRILL-000"]
        sim.control("paper_out off")
        for job_id in ids:
            hub.wait_job(job_id)
        assert [t for t, copy in receipts_on_paper(sim.paper())] == [f"DRILL-{i:03d}" for i in range(6)]
        assert not any(copy for _, copy in receipts_on_paper(sim.paper()))
        status, device = hub.api("GET", "/api/v1/devices/receipt")
        assert device["status"] == "online"
        # Status changes went out as events.
        rows = hub.api("GET", "/api/v1/status")[1]
        assert rows["last_event_id"] > 0
    finally:
        hub.stop()
        sim.stop()


def test_printer_unreachable_at_startup_then_reconnects(tmp_path: Path) -> None:
    sim = PrinterSim(tmp_path)  # not started yet: nothing listens on its port
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.3)]).start()
    try:
        status, device = hub.api("GET", "/api/v1/devices/receipt")
        assert status == 200 and device["status"] == "offline"
        status, job = hub.api("POST", "/api/v1/devices/receipt/jobs", body={"document": receipt("DRILL-001")})
        assert status == 201
        held = hub.wait_job(job["id"], "held")
        assert held["reason"] == "offline"
        sim.start()
        hub.wait_job(job["id"], timeout=30)
        assert hub.api("GET", "/api/v1/devices/receipt")[1]["status"] == "online"
        assert "DRILL-001" in sim.paper()
    finally:
        hub.stop()
        sim.stop()


def test_sigterm_finishes_the_job_in_flight(tmp_path: Path) -> None:
    sim = PrinterSim(tmp_path, speed=200).start()
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5)]).start()
    try:
        status, job = hub.api(
            "POST",
            "/api/v1/devices/receipt/jobs",
            body={"document": receipt("DRILL-007", lines=20)},
        )
        assert status == 201
        hub.wait_job(job["id"], "printing")
        assert hub.terminate() == 0
        hub.start()
        assert hub.job(job["id"])["state"] == "done", "the in-flight job finished before the hub stopped"
        time.sleep(1.0)
        assert [t for t, _ in receipts_on_paper(sim.paper())] == ["DRILL-007"], "and it is not printed again"
    finally:
        hub.stop()
        sim.stop()
