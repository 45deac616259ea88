"""Job queue rules: idempotency, order, copies after an interrupted attempt, events per change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from hub.db.database import Database
from hub.domain.events import EventLog
from hub.domain.print_jobs import IdempotencyConflict, InvalidJobState, PrintJobs


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Database, EventLog, PrintJobs]]:
    db = Database(tmp_path / "hub.db")
    await db.open()
    events = EventLog(db)
    yield db, events, PrintJobs(db, events)
    await db.close()


async def submit(jobs: PrintJobs, key: str | None, payload: bytes = b"hello", device: str = "p1"):  # type: ignore[no-untyped-def]
    return await jobs.submit(
        device_id=device,
        kind="raw",
        payload=payload,
        rendered=payload,
        idempotency_key=key,
        source="test",
    )


async def test_same_key_returns_same_job(store: tuple[Database, EventLog, PrintJobs]) -> None:
    db, _, jobs = store
    woken: list[str] = []
    jobs.on_queued = woken.append
    first, created = await submit(jobs, "k1")
    again, created_again = await submit(jobs, "k1")
    assert created and not created_again
    assert again == first
    assert woken == ["p1"]
    with pytest.raises(IdempotencyConflict):
        await submit(jobs, "k1", payload=b"something else")
    rows = await db.fetchall("SELECT COUNT(*) FROM print_jobs")
    assert rows[0][0] == 1


async def test_queue_is_ordered_per_device(store: tuple[Database, EventLog, PrintJobs]) -> None:
    _, _, jobs = store
    a, _ = await submit(jobs, None, device="p1")
    await submit(jobs, None, device="p2")
    b, _ = await submit(jobs, None, device="p1")
    head = await jobs.next_open("p1")
    assert head is not None and head.id == a.id
    await jobs.mark_done(await jobs.mark_printing(head), was_copy=False)
    head = await jobs.next_open("p1")
    assert head is not None and head.id == b.id


async def test_interrupted_job_reprints_as_copy_once(
    store: tuple[Database, EventLog, PrintJobs],
) -> None:
    _, events, jobs = store
    job, _ = await submit(jobs, None)
    printing = await jobs.mark_printing(job)
    assert printing.attempts == 1
    (recovered,) = await jobs.recover_interrupted()
    assert recovered.state == "queued" and "copy" in (recovered.reason or "")
    _, _, as_copy = await jobs.bytes_to_send(recovered)
    assert as_copy
    done = await jobs.mark_done(await jobs.mark_printing(recovered), was_copy=True)
    assert (done.state, done.attempts, done.copies_printed) == ("done", 2, 1)
    assert await jobs.recover_interrupted() == []
    replay, _ = await events.replay(0, 100)
    states = [msgspec.json.decode(e.data)["state"] for e in replay]
    assert states == ["queued", "printing", "queued", "printing", "done"]


async def test_failure_is_bounded(store: tuple[Database, EventLog, PrintJobs]) -> None:
    _, _, jobs = store
    job, _ = await submit(jobs, None)
    for _attempt in range(3):
        job = await jobs.mark_printing(job)
        job = await jobs.mark_send_failed(job, "timeout", max_attempts=3)
    assert job.state == "failed" and "gave up after 3" in (job.reason or "")
    assert await jobs.next_open("p1") is None
    retried = await jobs.retry(job.id, "tech")
    assert retried.state == "queued"


async def test_cancel_only_before_printing(store: tuple[Database, EventLog, PrintJobs]) -> None:
    db, _, jobs = store
    job, _ = await submit(jobs, None)
    printing = await jobs.mark_printing(job)
    with pytest.raises(InvalidJobState):
        await jobs.cancel(printing.id, "tech")
    other, _ = await submit(jobs, None)
    assert (await jobs.cancel(other.id, "tech")).state == "canceled"
    audit = await db.fetchall("SELECT action FROM audit_log")
    assert [r[0] for r in audit] == ["job.canceled"]
