"""The device manager: the only part of the hub that talks to hardware (principle 2).

It runs one worker task per device, each with its own durable queue in SQLite, so a dead or
hung printer never blocks another. Every health change becomes a ``device.status`` event.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import msgspec

from drivers.base import DeviceHealth
from hub.devices.printer_worker import PrinterWorker
from hub.devices.registry import DeviceSpec
from hub.domain.events import EventLog
from hub.domain.print_jobs import JobKind, PrintJob, PrintJobs
from hub.domain.print_render import DrawerRequest, render_payload

log = logging.getLogger(__name__)


class DeviceView(msgspec.Struct, frozen=True, kw_only=True):
    """A device as the API lists it, with its live status and queue."""

    id: str
    kind: str
    driver: str
    name: str
    url: str
    status: Literal["online", "offline", "error"]
    conditions: tuple[str, ...]
    detail: str
    queued: int
    held: int
    printing: int
    failed: int
    capabilities: tuple[str, ...]


class UnknownDevice(Exception):
    """No device with that id is configured."""


class UnsupportedOperation(Exception):
    """The device exists but cannot do this (e.g. a drawer kick on a printer without a drawer)."""


class DeviceManager:
    """Owns every configured device."""

    def __init__(self, specs: list[DeviceSpec], jobs: PrintJobs, events: EventLog, *, language: str) -> None:
        self._jobs = jobs
        self._events = events
        self._language = language
        self._workers: dict[str, PrinterWorker] = {
            spec.id: PrinterWorker(spec, jobs, self._health_changed, language=language) for spec in specs
        }
        jobs.on_queued = self._wake
        self.loaded = False

    async def start(self) -> None:
        """Recover jobs a crash left mid-print, then start one task per device."""
        for job in await self._jobs.recover_interrupted():
            log.warning(
                "job was interrupted; it will reprint as a copy",
                extra={"job": job.id, "device": job.device_id},
            )
        for worker in self._workers.values():
            worker.start()
        self.loaded = True

    async def stop(self, grace: float = 10.0) -> None:
        """Stop every device at once, so shutdown takes one grace period, not one per device."""
        await asyncio.gather(*(worker.stop(grace) for worker in self._workers.values()))

    def _wake(self, device_id: str) -> None:
        worker = self._workers.get(device_id)
        if worker is not None:
            worker.wake()

    async def _health_changed(self, device_id: str, health: DeviceHealth) -> None:
        log.info(
            "device status",
            extra={
                "device": device_id,
                "status": health.state,
                "conditions": list(health.conditions),
                "detail": health.detail,
            },
        )
        await self._jobs.record_device_status(
            device_id,
            self.worker(device_id).spec.config.kind,
            health.state,
            {"conditions": list(health.conditions), "detail": health.detail},
        )
        await self._events.record(
            "device.status",
            {
                "device_id": device_id,
                "status": health.state,
                "conditions": health.conditions,
                "detail": health.detail,
            },
        )

    @property
    def jobs(self) -> PrintJobs:
        return self._jobs

    async def restart(self, device_id: str, grace: float = 10.0) -> None:
        """Stop a device's driver (after the write in flight) and start a fresh one.

        A technician's or the cloud's fix for a driver stuck in a bad state; the queue is
        durable, so nothing waiting is lost.
        """
        old = self.worker(device_id)
        await old.stop(grace)
        fresh = PrinterWorker(old.spec, self._jobs, self._health_changed, language=self._language)
        self._workers[device_id] = fresh
        fresh.start()

    def worker(self, device_id: str) -> PrinterWorker:
        worker = self._workers.get(device_id)
        if worker is None:
            raise UnknownDevice(f"no device {device_id!r}")
        return worker

    @property
    def device_ids(self) -> list[str]:
        return list(self._workers)

    async def view(self, device_id: str) -> DeviceView:
        worker = self.worker(device_id)
        spec, health = worker.spec, worker.health
        counts = await self._jobs.counts(device_id)
        capabilities = ["print", "status"] + (["drawer"] if spec.options.drawer else [])
        return DeviceView(
            id=spec.id,
            kind=spec.config.kind,
            driver=spec.driver_name,
            name=spec.config.name,
            url=str(spec.url),
            status=health.state,
            conditions=health.conditions,
            detail=health.detail,
            queued=counts.get("queued", 0),
            held=counts.get("held", 0),
            printing=counts.get("printing", 0),
            failed=counts.get("failed", 0),
            capabilities=tuple(capabilities),
        )

    async def views(self) -> list[DeviceView]:
        return [await self.view(device_id) for device_id in self._workers]

    def language_of(self, device_id: str) -> str:
        return self.worker(device_id).spec.options.language or self._language

    async def submit(
        self,
        device_id: str,
        kind: JobKind,
        payload: bytes,
        *,
        idempotency_key: str | None,
        source: str,
    ) -> tuple[PrintJob, bool]:
        """Render (which validates) and queue a job on a printer."""
        worker = self.worker(device_id)
        audit_action = None
        if kind == "drawer":
            if not worker.spec.options.drawer:
                raise UnsupportedOperation(f"device {device_id!r} has no cash drawer attached")
            audit_action = "drawer.opened"
        rendered = render_payload(kind, payload, language=self.language_of(device_id))
        return await self._jobs.submit(
            device_id=device_id,
            kind=kind,
            payload=payload,
            rendered=rendered,
            idempotency_key=idempotency_key,
            source=source,
            audit_action=audit_action,
        )

    async def open_drawer(
        self, device_id: str, request: DrawerRequest, *, idempotency_key: str | None, source: str
    ) -> tuple[PrintJob, bool]:
        return await self.submit(
            device_id,
            "drawer",
            msgspec.json.encode(request),
            idempotency_key=idempotency_key,
            source=source,
        )
