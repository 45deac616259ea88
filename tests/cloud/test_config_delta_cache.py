"""The delta cache builds each store's delta once however many hubs ask at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from cloud.domain.config.delta_cache import DeltaCache

TENANT, STORE = uuid.uuid4(), uuid.uuid4()


async def test_fifty_hubs_asking_at_once_cost_one_build() -> None:
    cache = DeltaCache()
    builds = 0

    async def build() -> bytes:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.05)
        return b'{"version": 8}'

    answers = await asyncio.gather(*(cache.get((TENANT, STORE, 7, 8), build) for _ in range(50)))
    assert answers == [b'{"version": 8}'] * 50 and builds == 1
    assert await cache.get((TENANT, STORE, 7, 8), build) == b'{"version": 8}' and builds == 1
    await cache.get((TENANT, STORE, 8, 9), build)  # a new version is a new key
    assert builds == 2


async def test_a_failed_build_fails_its_waiters_and_the_next_request_builds_again() -> None:
    cache = DeltaCache()
    attempts = 0

    async def build() -> bytes:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        if attempts == 1:
            raise ConnectionError("database went away")
        return b"ok"

    first = await asyncio.gather(
        *(cache.get((TENANT, STORE, 0, 3), build) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionError) for result in first) and attempts == 1
    assert await cache.get((TENANT, STORE, 0, 3), build) == b"ok" and attempts == 2


async def test_a_waiter_that_gives_up_does_not_cancel_the_build_for_the_others() -> None:
    cache = DeltaCache()
    release = asyncio.Event()

    async def build() -> bytes:
        await release.wait()
        return b"delta"

    key = (TENANT, STORE, 1, 2)
    owner = asyncio.create_task(cache.get(key, build))
    await asyncio.sleep(0)
    impatient = asyncio.create_task(cache.get(key, build))
    patient = asyncio.create_task(cache.get(key, build))
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    assert await owner == b"delta" and await patient == b"delta"
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_only_the_most_recent_deltas_are_kept() -> None:
    cache = DeltaCache(size=2)
    builds: list[int] = []

    def builder(version: int) -> Callable[[], Awaitable[bytes]]:
        async def build() -> bytes:
            builds.append(version)
            return str(version).encode()

        return build

    for version in (1, 2, 3):
        await cache.get((TENANT, STORE, 0, version), builder(version))
    await cache.get((TENANT, STORE, 0, 3), builder(3))
    await cache.get((TENANT, STORE, 0, 1), builder(1))  # evicted: built again
    assert builds == [1, 2, 3, 1]
