"""The device manager: the only part of the hub that talks to hardware (principle 2).

It runs one worker task per device, so a dead or hung device never blocks another; printers
also have their own durable queue in SQLite. Devices come from hub.toml (fixed) and from
adoption at runtime (kept in ``adopted_devices``, removable). Every health change becomes a
``device.status`` event, and the sales flow's view of printers, drawers and each terminal's
receipt printer is kept current as devices come and go.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import msgspec

from drivers.base import (
    DeviceHealth,
    PaymentOutcome,
    PaymentTerminalDriver,
    ScaleDriver,
    StatusCallback,
    Weight,
)
from drivers.discovery.base import FoundDevice
from drivers.transports.factory import DEFAULT_OPTIONS, TransportOptions
from hub.config import ConfigError, DeviceConfig
from hub.devices.adoption import AdoptedDevices
from hub.devices.device_view import DeviceView, view_of
from hub.devices.fiscal_worker import FiscalWorker
from hub.devices.link_workers import DisplayWorker, ScannerWorker
from hub.devices.operation_worker import OperationWorker
from hub.devices.passthrough import PrinterPassthrough
from hub.devices.printer_worker import PrinterWorker
from hub.devices.registry import DeviceSpec, resolve
from hub.devices.roles import by_terminal
from hub.domain.events import EventLog
from hub.domain.fiscal.documents import FiscalDocuments
from hub.domain.print_jobs import JobKind, PrintJob, PrintJobs
from hub.domain.print_render import DrawerRequest, render_payload
from hub.domain.sales.checkout import Devices

log = logging.getLogger(__name__)

Worker = PrinterWorker | DisplayWorker | ScannerWorker | FiscalWorker | OperationWorker


class UnknownDevice(Exception):
    """No device with that id is configured."""


class UnsupportedOperation(Exception):
    """The device exists but cannot do this (e.g. a drawer kick on a printer without a drawer)."""


class DeviceManager:
    """Owns every device: starts, stops, adds and removes their workers."""

    def __init__(
        self,
        specs: list[DeviceSpec],
        jobs: PrintJobs,
        events: EventLog,
        *,
        language: str,
        adopted: AdoptedDevices | None = None,
        transport_options: TransportOptions = DEFAULT_OPTIONS,
        fiscal: FiscalDocuments | None = None,
    ) -> None:
        self._jobs = jobs
        self._fiscal = fiscal
        self._events = events
        self._language = language
        self._adopted = adopted
        self.transport_options = transport_options
        self.sale_devices = Devices(printers=frozenset(), drawers=frozenset())
        self._workers: dict[str, Worker] = {spec.id: self._new_worker(spec) for spec in specs}
        self._refresh_sale_devices()
        jobs.on_queued = self.wake
        self.loaded = False

    def _new_worker(self, spec: DeviceSpec) -> Worker:
        kind = spec.config.kind
        if kind == "line_display":
            transport = None
            if spec.url.scheme == "printer":
                printer_id = spec.url.host
                transport = PrinterPassthrough(spec.url, lambda: self._printer_worker(printer_id))
            return DisplayWorker(spec, self._health_changed, transport)
        if kind == "scanner":
            return ScannerWorker(spec, self._health_changed, self._scanned)
        if kind == "payment_terminal":
            return OperationWorker(spec, self._health_changed)
        if kind == "scale":
            return OperationWorker(spec, self._health_changed, on_weight=self._weighed)
        if kind == "fiscal_printer":
            if self._fiscal is None:
                raise UnsupportedOperation("this hub keeps no fiscal documents")
            return FiscalWorker(spec, self._fiscal, self._health_changed)
        return PrinterWorker(spec, self._jobs, self._health_changed, language=self._language)

    async def start(self) -> None:
        """Recover jobs a crash left mid-print, load adopted devices, start one task each."""
        for job in await self._jobs.recover_interrupted():
            log.warning(
                "job was interrupted; it will reprint as a copy",
                extra={"job": job.id, "device": job.device_id},
            )
        if self._adopted is not None:
            for row in await self._adopted.all():
                if row.config.id in self._workers:
                    log.error(
                        "adopted device has the id of a configured one; skipped",
                        extra={"device": row.config.id},
                    )
                    continue
                try:
                    spec = self.resolve_adopted(row.config, row.found_id)
                except ConfigError as exc:
                    # Its driver left the build, say: keep the row, report it, start the rest.
                    log.error(
                        "adopted device cannot start", extra={"device": row.config.id, "error": str(exc)}
                    )
                    continue
                self._workers[spec.id] = self._new_worker(spec)
        self._refresh_sale_devices()
        for worker in self._workers.values():
            worker.start()
        self.loaded = True

    def resolve_adopted(self, config: DeviceConfig, found_id: str | None) -> DeviceSpec:
        return resolve(0, config, where="device", source="adopted", found_id=found_id,
                       transport_options=self.transport_options)  # fmt: skip

    async def stop(self, grace: float = 10.0) -> None:
        """Stop every device at once, so shutdown takes one grace period, not one per device."""
        await asyncio.gather(*(worker.stop(grace) for worker in self._workers.values()))

    # -- runtime changes ------------------------------------------------------------------
    async def add(self, spec: DeviceSpec, *, actor: str) -> DeviceView:
        """Persist an adopted device (audited) and start it."""
        if self._adopted is None:
            raise UnsupportedOperation("this hub keeps no adopted devices")
        if spec.id in self._workers:
            raise ValueError(f"a device with id {spec.id!r} exists")
        await self._adopted.insert(spec.config, spec.found_id, actor=actor)
        worker = self._new_worker(spec)
        self._workers[spec.id] = worker
        self._refresh_sale_devices()
        worker.start()
        log.info("device adopted", extra={"device": spec.id, "url": str(spec.url), "role": spec.config.role})
        return await self.view(spec.id)

    async def remove(self, device_id: str, *, actor: str, grace: float = 10.0) -> None:
        """Stop and forget an adopted device. Its finished jobs stay in the history."""
        worker = self.worker(device_id)
        if worker.spec.source != "adopted" or self._adopted is None:
            raise UnsupportedOperation(f"device {device_id!r} is defined in hub.toml; remove it there")
        counts = await self._jobs.counts(device_id)
        waiting = sum(counts.get(state, 0) for state in ("queued", "held", "printing"))
        if waiting:
            raise UnsupportedOperation(
                f"device {device_id!r} still has {waiting} job(s) to print; finish or cancel them first"
            )
        await worker.stop(grace)
        await self._adopted.delete(device_id, actor=actor)
        del self._workers[device_id]
        self._refresh_sale_devices()
        log.info("device removed", extra={"device": device_id})

    async def restart(self, device_id: str, grace: float = 10.0) -> None:
        """Stop a device's driver (after the write in flight) and start a fresh one.

        A technician's or the cloud's fix for a driver stuck in a bad state; the queue is
        durable, so nothing waiting is lost.
        """
        old = self.worker(device_id)
        await old.stop(grace)
        fresh = self._new_worker(old.spec)
        self._workers[device_id] = fresh
        fresh.start()

    def _refresh_sale_devices(self) -> None:
        printers = [w.spec for w in self._workers.values() if isinstance(w, PrinterWorker)]
        self.sale_devices.printers = frozenset(spec.id for spec in printers)
        self.sale_devices.drawers = frozenset(
            spec.id for spec in printers if getattr(spec.options, "drawer", False)
        )
        self.sale_devices.receipt_printers = by_terminal((s.config for s in printers), "receipt_printer")

    # -- lookups --------------------------------------------------------------------------
    def worker(self, device_id: str) -> Worker:
        worker = self._workers.get(device_id)
        if worker is None:
            raise UnknownDevice(f"no device {device_id!r}")
        return worker

    @property
    def device_ids(self) -> list[str]:
        return list(self._workers)

    @property
    def specs(self) -> list[DeviceSpec]:
        return [worker.spec for worker in self._workers.values()]

    def wake(self, device_id: str) -> None:
        worker = self._workers.get(device_id)
        if worker is not None:
            worker.wake()

    def owned_ports(self) -> set[str]:
        """Real paths of the serial ports devices use: discovery never probes them."""
        import os

        paths = set()
        for worker in self._workers.values():
            if worker.spec.url.scheme == "serial":
                paths.add(os.path.realpath(worker.spec.url.path))
        return paths

    def adopted_as(self, found: FoundDevice) -> str | None:
        """The device a discovered one already is (same discovery id, or the same URL)."""
        for worker in self._workers.values():
            spec = worker.spec
            if spec.found_id == found.id or str(spec.url) == found.url or spec.config.url == found.url:
                return spec.id
        return None

    def displays_for(self, terminal_id: str) -> list[DisplayWorker]:
        return [
            w for w in self._workers.values()
            if isinstance(w, DisplayWorker) and w.spec.config.role == "customer_display"
            and w.spec.config.terminal == terminal_id
        ]  # fmt: skip

    def display(self, device_id: str) -> DisplayWorker:
        worker = self.worker(device_id)
        if not isinstance(worker, DisplayWorker):
            raise UnsupportedOperation(f"device {device_id!r} is a {worker.spec.config.kind}, not a display")
        return worker

    # -- card terminals and scales (hub.domain.payments.service.TerminalPort) -------------
    def _bound(self, kind: str, role: str, pos_terminal: str) -> str | None:
        for worker in self._workers.values():
            config = worker.spec.config
            if config.kind == kind and config.role == role and config.terminal == pos_terminal:
                return worker.spec.id
        return None

    def terminal_for(self, pos_terminal: str) -> str | None:
        return self._bound("payment_terminal", "payment_terminal", pos_terminal)

    def scale_for(self, pos_terminal: str) -> str | None:
        return self._bound("scale", "scale", pos_terminal)

    def operations(self, device_id: str, kind: str) -> OperationWorker:
        worker = self.worker(device_id)
        if not isinstance(worker, OperationWorker) or worker.spec.config.kind != kind:
            raise UnsupportedOperation(f"device {device_id!r} is a {worker.spec.config.kind}, not a {kind}")
        return worker

    async def card_operation(
        self,
        device_id: str,
        kind: Literal["payment", "refund", "reversal"],
        amount: int,
        reference: str,
        on_status: StatusCallback,
        *,
        receipt_number: str = "",
    ) -> PaymentOutcome:
        worker = self.operations(device_id, "payment_terminal")

        async def operation(driver: PaymentTerminalDriver) -> PaymentOutcome:
            if kind == "reversal":
                return await driver.reverse(receipt_number, reference, on_status=on_status)
            if kind == "refund":
                return await driver.refund(amount, reference, on_status=on_status)
            return await driver.pay(amount, reference, on_status=on_status)

        return await worker.run(operation)

    async def card_last_result(self, device_id: str, reference: str) -> PaymentOutcome | None:
        worker = self.operations(device_id, "payment_terminal")

        async def operation(driver: PaymentTerminalDriver) -> PaymentOutcome | None:
            return await driver.last_result(reference)

        # Asked first thing after a restart: give the terminal time to connect.
        return await worker.run(operation, wait_connected=15.0)

    async def card_end_of_day(self, pos_terminal: str) -> list[str] | None:
        """The end of day of the card terminal of ``pos_terminal``; None when it has none."""
        device_id = self.terminal_for(pos_terminal)
        if device_id is None:
            return None

        async def operation(driver: PaymentTerminalDriver) -> list[str]:
            return await driver.end_of_day()

        return await self.operations(device_id, "payment_terminal").run(operation)

    async def card_abort(self, device_id: str) -> None:
        """The ECR's abort: sent at once, beside the payment the terminal's task is waiting on."""
        driver = self.operations(device_id, "payment_terminal").driver
        assert isinstance(driver, PaymentTerminalDriver)
        await driver.abort()

    async def weigh(self, device_id: str) -> Weight:
        async def operation(driver: ScaleDriver) -> Weight:
            return await driver.weigh()

        return await self.operations(device_id, "scale").run(operation)

    async def zero_or_tare(self, device_id: str, action: Literal["zero", "tare"]) -> None:
        async def operation(driver: ScaleDriver) -> None:
            await (driver.zero() if action == "zero" else driver.tare())

        await self.operations(device_id, "scale").run(operation)

    async def _weighed(self, spec: DeviceSpec, weight: Weight) -> None:
        await self._events.record(
            "scale.weight",
            {"device_id": spec.id, "terminal_id": spec.config.terminal or None, "milligrams": weight.milligrams,
             "stable": weight.stable, "overload": weight.overload, "underload": weight.underload},
        )  # fmt: skip

    # -- events ---------------------------------------------------------------------------
    async def _health_changed(self, device_id: str, health: DeviceHealth) -> None:
        log.info(
            "device status",
            extra={"device": device_id, "status": health.state, "conditions": list(health.conditions),
                   "detail": health.detail},
        )  # fmt: skip
        worker = self._workers.get(device_id)
        kind = worker.spec.config.kind if worker is not None else "unknown"
        await self._jobs.record_device_status(
            device_id, kind, health.state, {"conditions": list(health.conditions), "detail": health.detail}
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

    async def _scanned(self, spec: DeviceSpec, code: str) -> None:
        """A scan goes to the terminal the scanner belongs to, as a websocket event."""
        log.debug("scan", extra={"device": spec.id})
        await self._events.record(
            "scanner.scan", {"device_id": spec.id, "terminal_id": spec.config.terminal or None, "code": code}
        )

    # -- views and printing ---------------------------------------------------------------
    @property
    def jobs(self) -> PrintJobs:
        return self._jobs

    async def view(self, device_id: str) -> DeviceView:
        worker = self.worker(device_id)
        counts: dict[str, int] = {}
        if isinstance(worker, PrinterWorker):
            counts = await self._jobs.counts(device_id)
        elif isinstance(worker, FiscalWorker) and self._fiscal is not None:
            counts = {"queued": await self._fiscal.pending_count(device_id)}
        return view_of(worker.spec, worker.health, counts)

    async def views(self) -> list[DeviceView]:
        return [await self.view(device_id) for device_id in list(self._workers)]

    def language_of(self, device_id: str) -> str:
        return getattr(self.worker(device_id).spec.options, "language", "") or self._language

    def _printer_worker(self, device_id: str) -> PrinterWorker | None:
        worker = self._workers.get(device_id)
        return worker if isinstance(worker, PrinterWorker) else None

    def printer(self, device_id: str) -> PrinterWorker:
        worker = self.worker(device_id)
        if not isinstance(worker, PrinterWorker):
            raise UnsupportedOperation(f"device {device_id!r} is a {worker.spec.config.kind}, not a printer")
        return worker

    async def submit(
        self, device_id: str, kind: JobKind, payload: bytes, *, idempotency_key: str | None, source: str
    ) -> tuple[PrintJob, bool]:
        """Render (which validates) and queue a job on a printer."""
        worker = self.printer(device_id)
        audit_action = None
        if kind == "drawer":
            if not getattr(worker.spec.options, "drawer", False):
                raise UnsupportedOperation(f"device {device_id!r} has no cash drawer attached")
            audit_action = "drawer.opened"
        rendered = render_payload(kind, payload, language=self.language_of(device_id))
        return await self._jobs.submit(
            device_id=device_id, kind=kind, payload=payload, rendered=rendered,
            idempotency_key=idempotency_key, source=source, audit_action=audit_action,
        )  # fmt: skip

    async def open_drawer(
        self, device_id: str, request: DrawerRequest, *, idempotency_key: str | None, source: str
    ) -> tuple[PrintJob, bool]:
        return await self.submit(
            device_id, "drawer", msgspec.json.encode(request), idempotency_key=idempotency_key, source=source
        )
