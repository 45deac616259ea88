"""The one task that owns a printer: connects, watches its health, drains its queue in order.

Order of a job (principle 3): the job is read from SQLite; the printer is asked whether it can
print (nothing sent yet, so a refusal just holds the job); the job is marked ``printing`` and
committed *before* the first byte leaves; the printer's confirmation marks it ``done``. A crash
anywhere in between leaves ``printing`` in the store, and start-up reprints it once as a copy.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable

from drivers.base import OFFLINE, DeviceHealth, PrinterDriver
from drivers.errors import CoverOpen, DeviceError, DeviceOffline, PaperOut, Timeout
from hub.devices.backoff import Backoff
from hub.devices.registry import DeviceSpec
from hub.domain.print_jobs import InvalidJobState, PrintJob, PrintJobs
from hub.domain.print_render import render_payload

log = logging.getLogger(__name__)

HealthSink = Callable[[str, DeviceHealth], Awaitable[None]]


class PrinterWorker:
    """Runs one printer. ``wake()`` says a job was queued; ``stop()`` finishes the current write."""

    MAX_ATTEMPTS = 5

    def __init__(self, spec: DeviceSpec, jobs: PrintJobs, on_health: HealthSink, *, language: str) -> None:
        self.spec = spec
        self.driver: PrinterDriver = spec.build()  # type: ignore[assignment]
        self._jobs = jobs
        self._on_health = on_health
        self._language = language
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._connected = False
        self._printing = False
        self._task: asyncio.Task[None] | None = None
        self._reconnect = Backoff()
        self._retry = Backoff(initial=1.0, maximum=30.0)
        self.health: DeviceHealth = OFFLINE
        # Bytes for a device behind the printer (a customer display on its display port):
        # latest-wins, sent between jobs, never inside one.
        self._passthrough: collections.deque[bytes] = collections.deque(maxlen=8)

    @property
    def device_id(self) -> str:
        return self.spec.id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"device-{self.device_id}")

    def wake(self) -> None:
        self._wakeup.set()

    @property
    def connected(self) -> bool:
        return self._connected

    def passthrough(self, data: bytes) -> None:
        """Queue bytes for a device chained behind the printer; sent before the next job.

        Not durable and not confirmed: what a display shows is replaced by the next update
        anyway. Interleaving them with a job's bytes could land inside an image or a QR code,
        so they wait for the job in progress to finish.
        """
        self._passthrough.append(data)
        self._wakeup.set()

    async def _send_passthrough(self) -> None:
        while self._passthrough and not self._printing:
            data = self._passthrough.popleft()
            await self.driver.transport.write(data, self.spec.options.write_timeout)

    async def stop(self, grace: float) -> None:
        """Stop after the job being written finishes (at most ``grace`` seconds), then close."""
        self._stopping = True
        self._wakeup.set()
        task = self._task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=grace)
            except TimeoutError:
                log.warning(
                    "device did not finish in time; the job will reprint as a copy",
                    extra={"device": self.device_id},
                )
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.driver.close()

    async def _idle(self, seconds: float) -> bool:
        """Sleep until woken or ``seconds`` pass; True when woken."""
        try:
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        except TimeoutError:
            return False
        finally:
            self._wakeup.clear()
        return True

    async def _set_health(self, health: DeviceHealth) -> None:
        if health != self.health:
            self.health = health
            await self._on_health(self.device_id, health)

    async def _disconnect(self, reason: str) -> None:
        self._connected = False
        await self.driver.close()
        await self._set_health(DeviceHealth(state="offline", detail=reason))

    async def _run(self) -> None:
        poll = self.spec.options.poll_interval
        while not self._stopping:
            try:
                if not self._connected and not await self._connect():
                    continue
                await self._send_passthrough()
                job = await self._jobs.next_open(self.device_id)
                if job is None:
                    if not await self._idle(poll) and not self._stopping:
                        await self._set_health(await self.driver.health())
                    continue
                await self._process(job)
            except DeviceError as exc:
                await self._disconnect(str(exc))
            except Exception:
                # A bug must not kill the device's only task: log it, back off and carry on.
                log.exception("device worker error", extra={"device": self.device_id})
                await self._idle(5.0)

    async def _connect(self) -> bool:
        try:
            await self.driver.connect()
            health = await self.driver.health()
        except DeviceError as exc:
            await self.driver.close()
            await self._set_health(DeviceHealth(state="offline", detail=str(exc)))
            delay = self._reconnect.next()
            log.info(
                "printer unreachable; retrying",
                extra={"device": self.device_id, "retry_in_s": round(delay, 2)},
            )
            await self._hold_head("offline")
            await self._idle(delay)
            return False
        self._connected = True
        self._reconnect.reset()
        await self._set_health(health)
        log.info("printer connected", extra={"device": self.device_id, "url": str(self.spec.url)})
        return True

    async def _hold_head(self, reason: str) -> None:
        """Show the first waiting job as held while the printer cannot print."""
        job = await self._jobs.next_open(self.device_id)
        if job is not None and job.state == "queued":
            await self._jobs.mark_held(job, reason)

    async def _process(self, job: PrintJob) -> None:
        try:
            health = await self.driver.ensure_ready()
        except (PaperOut, CoverOpen) as exc:
            await self._set_health(DeviceHealth(state="error", conditions=(exc.code,), detail=str(exc)))
            await self._jobs.mark_held(job, exc.code)
            await self._idle(self.spec.options.poll_interval)
            return
        except DeviceOffline as exc:
            await self._jobs.mark_held(job, "offline")
            await self._disconnect(str(exc))
            return
        await self._set_health(health)
        payload, rendered, as_copy = await self._jobs.bytes_to_send(job)
        data = render_payload(job.kind, payload, copy=True, language=self._language) if as_copy else rendered
        job = await self._jobs.mark_printing(job)
        current = job

        async def during_print(health: DeviceHealth) -> None:
            nonlocal current
            await self._set_health(health)
            if health.state == "error" and current.state == "printing":
                current = await self._jobs.mark_held(current, ",".join(health.conditions))
            elif health.state == "online" and current.state == "held":
                current = await self._jobs.mark_resumed(current)

        self._printing = True
        try:
            await self.driver.print(data, on_health=during_print)
        except DeviceError as exc:
            current = await self._jobs.mark_send_failed(
                current, f"{exc.code}: {exc}", max_attempts=self.MAX_ATTEMPTS
            )
            log.warning(
                "print attempt failed",
                extra={"device": self.device_id, "job": job.id, "error": str(exc)},
            )
            if isinstance(exc, DeviceOffline | Timeout):
                await self._disconnect(str(exc))
            if current.state != "failed":
                await self._idle(self._retry.next())
            return
        finally:
            self._printing = False
        self._retry.reset()
        try:
            await self._jobs.mark_done(current, was_copy=as_copy)
        except InvalidJobState:
            log.warning("job changed state while printing", extra={"job": job.id})
