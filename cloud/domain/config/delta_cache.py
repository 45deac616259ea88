"""One build of a store's delta for every hub that asks for it.

When a store's version moves, all its hubs come for the same delta within a second or two:
fifty hubs asking ``since=7`` would build the same 5,000-item answer fifty times, holding fifty
database connections while the event loop encodes them, and the pool runs dry. Answers are
kept by ``(tenant, store, since, version)``; the first request for a key builds it and the
others wait for that build. A write moves the version, so a stale key is simply not asked
for again; the few most recent keys are kept.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable

DeltaKey = tuple[uuid.UUID, uuid.UUID, int, int]  # tenant, store, since, version


class DeltaCache:
    """Encoded deltas by key, at most ``size`` of them, built once per key (single flight)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._done: OrderedDict[DeltaKey, bytes] = OrderedDict()
        self._building: dict[DeltaKey, asyncio.Future[bytes]] = {}

    async def get(self, key: DeltaKey, build: Callable[[], Awaitable[bytes]]) -> bytes:
        cached = self._done.get(key)
        if cached is not None:
            self._done.move_to_end(key)
            return cached
        waiting = self._building.get(key)
        if waiting is not None:
            # shield: one waiter giving up (its client went away) must not cancel the build.
            return await asyncio.shield(waiting)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            body = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            self._building.pop(key, None)
        future.set_result(body)
        self._done[key] = body
        while len(self._done) > self._size:
            self._done.popitem(last=False)
        return body
