"""The tasks that own a customer display or a scanner.

Same rules as the printer worker: one task per device, reconnect with backoff in here (not in
the driver), a health change becomes an event, and nothing a device does can block another.
Unlike printers they have no durable queue: a display shows the latest state (a missed
intermediate total is worthless once a newer one exists) and a scanner only talks.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from drivers.base import OFFLINE, DeviceHealth, DisplayDriver, ScannerDriver
from drivers.errors import DeviceError
from drivers.transports.base import Transport
from hub.devices.backoff import Backoff
from hub.devices.registry import DeviceSpec

log = logging.getLogger(__name__)

HealthSink = Callable[[str, DeviceHealth], Awaitable[None]]
ScanSink = Callable[[DeviceSpec, str], Awaitable[None]]


class LinkWorker(abc.ABC):
    """Connects, serves until the link breaks, reconnects with backoff; ``stop()`` closes."""

    def __init__(self, spec: DeviceSpec, on_health: HealthSink) -> None:
        self.spec = spec
        self._on_health = on_health
        self._stopping = False
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reconnect = Backoff()
        self.health: DeviceHealth = OFFLINE

    @property
    def device_id(self) -> str:
        return self.spec.id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"device-{self.device_id}")

    def wake(self) -> None:
        """Something changed (new content, the device reappeared on its bus): act now."""
        self._reconnect.reset()
        self._wakeup.set()

    async def stop(self, grace: float) -> None:
        self._stopping = True
        self._wakeup.set()
        task = self._task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=grace)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._close()

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _set_health(self, health: DeviceHealth) -> None:
        if health != self.health:
            self.health = health
            await self._on_health(self.device_id, health)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._open()
            except DeviceError as exc:
                await self._close()
                await self._set_health(DeviceHealth(state="offline", detail=str(exc)))
                await self._idle(self._reconnect.next())
                continue
            self._reconnect.reset()
            await self._set_health(DeviceHealth(state="online"))
            try:
                await self._serve()
            except DeviceError as exc:
                await self._set_health(DeviceHealth(state="offline", detail=str(exc)))
            except Exception:
                log.exception("device worker error", extra={"device": self.device_id})
                await self._set_health(DeviceHealth(state="error", detail="internal error; restarting"))
                await self._idle(5.0)
            finally:
                await self._close()

    @abc.abstractmethod
    async def _open(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...

    @abc.abstractmethod
    async def _serve(self) -> None:
        """Run while connected; return or raise ``DeviceError`` when the link breaks."""


class DisplayWorker(LinkWorker):
    """Keeps a customer display showing the latest wanted lines."""

    def __init__(self, spec: DeviceSpec, on_health: HealthSink, transport: Transport | None = None) -> None:
        super().__init__(spec, on_health)
        self.driver: DisplayDriver = spec.build(transport)  # type: ignore[assignment]
        self.wanted: tuple[str, ...] = (getattr(spec.options, "idle_text", ""),)
        self.shown: tuple[str, ...] | None = None

    def show(self, lines: tuple[str, ...]) -> None:
        """Ask for ``lines``; the worker sends them as soon as the display is reachable."""
        self.wanted = lines
        self._wakeup.set()

    async def _open(self) -> None:
        await self.driver.connect()
        self.shown = None  # a reconnected display may have been power-cycled: redraw

    async def _close(self) -> None:
        await self.driver.close()

    async def _serve(self) -> None:
        poll = float(getattr(self.spec.options, "poll_interval", 5.0))
        while not self._stopping:
            if self.wanted != self.shown:
                lines = self.wanted
                await self.driver.show(lines)
                self.shown = lines
            await self._idle(poll)
            if self.wanted == self.shown:
                await self._set_health(await self.driver.health())


class ScannerWorker(LinkWorker):
    """Reads a serial scanner and hands each code to ``on_scan``."""

    def __init__(self, spec: DeviceSpec, on_health: HealthSink, on_scan: ScanSink) -> None:
        super().__init__(spec, on_health)
        self.driver: ScannerDriver = spec.build()  # type: ignore[assignment]
        self._on_scan = on_scan
        self.scans = 0

    async def _open(self) -> None:
        await self.driver.connect()

    async def _close(self) -> None:
        await self.driver.close()

    async def _serve(self) -> None:
        async def deliver(code: str) -> None:
            self.scans += 1
            try:
                await self._on_scan(self.spec, code)
            except Exception:
                # A failure to record one scan must not stop the scanner's reader.
                log.exception("scan could not be delivered", extra={"device": self.device_id})

        reader = asyncio.create_task(self.driver.scans(deliver), name=f"scanner-{self.device_id}")
        stop = asyncio.create_task(self._wait_stop())
        try:
            done, _ = await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                reader.result()
        finally:
            for task in (reader, stop):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, DeviceError):
                    await task

    async def _wait_stop(self) -> None:
        while not self._stopping:
            await self._idle(3600)
