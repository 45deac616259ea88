"""The writer lock: urgent transactions overtake waiting normal ones; cancellation never leaks it."""

from __future__ import annotations

import asyncio

import pytest

from hub.db.write_lock import WriteLock


async def _take(lock: WriteLock, name: str, order: list[str], *, urgent: bool = False) -> None:
    await lock.acquire(urgent=urgent)
    order.append(name)
    await asyncio.sleep(0)
    lock.release()


async def test_urgent_waiters_go_first_and_each_queue_is_fifo() -> None:
    lock = WriteLock()
    order: list[str] = []
    await lock.acquire()
    tasks = [
        asyncio.create_task(_take(lock, "submit-1", order)),
        asyncio.create_task(_take(lock, "submit-2", order)),
        asyncio.create_task(_take(lock, "printer-a", order, urgent=True)),
        asyncio.create_task(_take(lock, "submit-3", order)),
        asyncio.create_task(_take(lock, "printer-b", order, urgent=True)),
    ]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["printer-a", "printer-b", "submit-1", "submit-2", "submit-3"]
    assert not lock.locked


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    lock = WriteLock()
    order: list[str] = []
    await lock.acquire()
    doomed = asyncio.create_task(_take(lock, "doomed", order))
    kept = asyncio.create_task(_take(lock, "kept", order))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.sleep(0)
    lock.release()
    await kept
    assert order == ["kept"] and not lock.locked


async def test_cancelled_right_after_being_handed_the_lock_passes_it_on() -> None:
    lock = WriteLock()
    order: list[str] = []
    await lock.acquire()
    first = asyncio.create_task(_take(lock, "first", order))
    second = asyncio.create_task(_take(lock, "second", order))
    await asyncio.sleep(0)
    lock.release()  # hands the lock to "first", which has not resumed yet ...
    first.cancel()  # ... and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    assert order == ["second"] and not lock.locked


def test_releasing_an_unlocked_lock_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        WriteLock().release()
