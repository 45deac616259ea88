"""The writer connection's lock: FIFO, except that urgent transactions go first.

SQLite has one writer, so every write transaction waits its turn. Under a burst of new print
jobs from several tablets, a device worker that wants to record "printing" or "done" would
queue behind every accepted-but-not-yet-committed submission, and the printer would sit idle
while the API takes new work. Work already under way (a job on its way to paper) is more
urgent than taking more work, so device workers ask for ``urgent`` and are served before
normal waiters. They cannot starve the others: each worker holds at most one transaction at a
time and then waits on its device.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WriteLock:
    """An asyncio lock with two FIFO queues; release hands the lock straight to the next waiter."""

    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def locked(self) -> bool:
        return self._locked

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._locked:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The lock was handed over just as we were cancelled: pass it on, or it leaks.
                self.release()
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        """Give the lock to the next live waiter (urgent first), or unlock."""
        if not self._locked:
            raise RuntimeError("release of an unlocked WriteLock")
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    # Ownership moves to the waiter; the lock stays locked in between so no
                    # newcomer can slip in before the waiter resumes.
                    waiter.set_result(None)
                    return
        self._locked = False
