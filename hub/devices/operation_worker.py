"""The task that owns a card terminal or a scale: it runs the operations asked of the device.

Callers (a checkout, the weighing API) never touch the driver: they hand an operation to the
device's own task and await its result, so one device only ever does one thing at a time and
a hung device holds up no other (principle 2). Between operations the task checks the
device's health; a broken link is reopened with backoff by the base class, and an operation
that arrives while the device is offline fails at once with ``DeviceOffline`` rather than
waiting for a reconnect the cashier cannot see.

A scale can also be *watched*: while a weighing dialog is open, the task reads the weight
every ``stream_interval`` and reports each change (``on_weight``), so the POS sees the weight
settle without asking for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from drivers.base import DeviceDriver, ScaleDriver, Weight
from drivers.errors import DeviceError, DeviceOffline
from hub.devices.link_workers import HealthSink, LinkWorker
from hub.devices.registry import DeviceSpec

log = logging.getLogger(__name__)

T = TypeVar("T")
Operation = Callable[[Any], Awaitable[Any]]
WeightSink = Callable[[DeviceSpec, Weight], Awaitable[None]]


class OperationWorker(LinkWorker):
    """Runs operations on one device's driver, one at a time, in its own task."""

    def __init__(self, spec: DeviceSpec, on_health: HealthSink, on_weight: WeightSink | None = None) -> None:
        super().__init__(spec, on_health)
        self.driver: DeviceDriver = spec.build()
        self._queue: asyncio.Queue[tuple[Operation, asyncio.Future[Any]]] = asyncio.Queue()
        self._connected = False
        self._connected_event = asyncio.Event()
        self._on_weight = on_weight
        self._watch_until = 0.0
        self._last_weight: Weight | None = None

    async def run(self, operation: Callable[[Any], Awaitable[T]], *, wait_connected: float = 0.0) -> T:
        """Run ``operation(driver)`` on the device's task and return its result.

        ``wait_connected`` gives a device that is still connecting (just after start-up) that
        long before the operation fails as offline.
        """
        if not self._connected and wait_connected > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected_event.wait(), wait_connected)
        if not self._connected:
            raise DeviceOffline(f"{self.device_id}: {self.health.detail or 'not connected'}")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((operation, future))
        self._wakeup.set()
        result: T = await future
        return result

    def watch(self, seconds: float) -> None:
        """Report the scale's weight changes for the next ``seconds`` (a weighing dialog)."""
        self._watch_until = asyncio.get_running_loop().time() + seconds
        self._last_weight = None
        self._wakeup.set()

    async def _open(self) -> None:
        await self.driver.connect()
        self._connected = True
        self._connected_event.set()

    async def _close(self) -> None:
        self._connected = False
        self._connected_event.clear()
        self._fail_queued(DeviceOffline(f"{self.device_id}: the link was closed"))
        await self.driver.close()

    def _fail_queued(self, exc: Exception) -> None:
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(exc)

    async def _serve(self) -> None:
        poll = float(getattr(self.spec.options, "poll_interval", 5.0))
        stream = float(getattr(self.spec.options, "stream_interval", 0.1))
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if not self._queue.empty():
                operation, future = self._queue.get_nowait()
                await self._execute(operation, future)
                continue
            if loop.time() < self._watch_until and isinstance(self.driver, ScaleDriver):
                await self._stream_once()
                await self._idle(stream)
                continue
            await self._idle(poll)
            if self._queue.empty() and not self._stopping:
                await self._set_health(await self.driver.health())

    async def _execute(self, operation: Operation, future: asyncio.Future[Any]) -> None:
        try:
            result = await operation(self.driver)
        except DeviceOffline as exc:
            if not future.done():
                future.set_exception(exc)
            raise  # the link is gone: the base class reconnects
        except BaseException as exc:  # the caller gets every failure, typed as it was raised
            if not future.done():
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not future.done():
                future.set_result(result)

    async def _stream_once(self) -> None:
        assert isinstance(self.driver, ScaleDriver)
        try:
            weight = await self.driver.weigh()
        except DeviceOffline:
            raise
        except DeviceError as exc:
            log.info(
                "scale reading failed while watching", extra={"device": self.device_id, "error": str(exc)}
            )
            return
        if weight != self._last_weight:
            self._last_weight = weight
            if self._on_weight is not None:
                with contextlib.suppress(Exception):
                    await self._on_weight(self.spec, weight)
