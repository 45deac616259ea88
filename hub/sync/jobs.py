"""Remote jobs from the cloud: test print, open drawer, X report, restart a device driver,
collect diagnostics, resync.

Each job id runs at most once. The row is written ``IN_PROGRESS`` before the job starts, so
a job delivered twice (QoS 1) or found again after a crash is answered from its row instead of
running again; one interrupted by a crash is reported FAILED rather than retried, because an
open drawer or a printed page must not happen twice. A job past its ``expires_at`` is reported
TIMED_OUT and not run.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import shutil
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from hub import __version__
from hub.config import HubConfig
from hub.db.database import Database
from hub.devices.manager import DeviceManager
from hub.domain import audit, outbox
from hub.domain.clock import now, now_iso, parse_iso
from hub.domain.print_render import DrawerRequest, test_page
from hub.domain.reports.day_close import DayClose
from protocols.sync import SyncDecodeError
from protocols.sync.messages import JobRequest, JobState, JobUpdate, decode_job_request

log = logging.getLogger(__name__)
PRINT_WAIT_S = 60.0
FINAL: tuple[JobState, ...] = ("SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED")


class JobFailed(Exception):
    """The job ran and did not succeed; the message is the detail the fleet view shows."""


class RemoteJobs:
    """Runs jobs from ``down/jobs`` and reports each state change through ``publish``."""

    def __init__(
        self,
        db: Database,
        devices: DeviceManager,
        day_close: DayClose,
        config: HubConfig,
        hub_id: str,
        *,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self._db = db
        self._devices = devices
        self._day_close = day_close
        self._config = config
        self._hub_id = hub_id
        self._clock = clock
        self.publish: Callable[[JobUpdate], None] = lambda update: None
        # Set by the sync service: send the facts from a seq on again.
        self.rewind: Callable[[int], None] = lambda from_seq: None

    async def recover(self) -> None:
        """Jobs caught mid-run by a crash or a restart are FAILED, never run again."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE remote_jobs SET state = 'FAILED', detail = 'interrupted by a hub restart', finished_at = ? "
                "WHERE state = 'IN_PROGRESS'",
                (now_iso(),),
            )

    async def handle(self, payload: bytes) -> None:
        try:
            job = decode_job_request(payload)
        except SyncDecodeError as exc:
            log.warning("ignored a malformed job", extra={"error": str(exc)})
            return
        row = await self._db.fetchone(
            "SELECT state, detail, result FROM remote_jobs WHERE job_id = ?", (job.job_id,)
        )
        if row is not None:
            # A repeat delivery: answer with what is known, run nothing.
            self._send(job.job_id, row["state"], row["detail"], msgspec.json.decode(row["result"]))
            return
        if parse_iso(job.expires_at) <= self._clock():
            await self._record(job, "TIMED_OUT", "expired before it reached the hub", {})
            return
        await self._record(job, "IN_PROGRESS", "", {})
        try:
            result = await self._run(job)
        except JobFailed as exc:
            await self._finish(job, "FAILED", str(exc), {})
        except Exception as exc:
            log.exception("remote job failed", extra={"job_id": job.job_id})
            await self._finish(job, "FAILED", f"{type(exc).__name__}: {exc}", {})
        else:
            await self._finish(job, "SUCCEEDED", "", result)

    async def _record(self, job: JobRequest, state: JobState, detail: str, result: dict[str, Any]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO remote_jobs (job_id, kind, params, state, detail, result, received_at, finished_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, job.kind, msgspec.json.encode(job.params).decode(), state, detail,
                 msgspec.json.encode(result).decode(), now_iso(), now_iso() if state in FINAL else None),
            )  # fmt: skip
            await audit.record(tx, actor=f"cloud:job:{job.job_id}", action=f"remote_job.{job.kind}", target=None,
                               details={"state": state, "params": job.params})  # fmt: skip
        self._send(job.job_id, state, detail, result)

    async def _finish(self, job: JobRequest, state: JobState, detail: str, result: dict[str, Any]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE remote_jobs SET state = ?, detail = ?, result = ?, finished_at = ? WHERE job_id = ?",
                (state, detail, msgspec.json.encode(result).decode(), now_iso(), job.job_id),
            )
        self._send(job.job_id, state, detail, result)

    def _send(self, job_id: str, state: JobState, detail: str, result: dict[str, Any]) -> None:
        self.publish(JobUpdate(job_id=job_id, state=state, detail=detail, result=result, at=now_iso()))

    async def republish_recent(self, limit: int = 50) -> None:
        """After a reconnect: the latest job states again (an update sent while the link was
        down would be lost otherwise; the cloud ignores a state it already has)."""
        rows = await self._db.fetchall(
            "SELECT job_id, state, detail, result FROM remote_jobs ORDER BY received_at DESC LIMIT ?",
            (limit,),
        )
        for row in reversed(rows):
            self._send(row["job_id"], row["state"], row["detail"], msgspec.json.decode(row["result"]))

    def _device(self, job: JobRequest) -> str:
        device = str(job.params.get("device", ""))
        if device not in self._devices.device_ids:
            raise JobFailed(f"no device {device!r} on this hub")
        return device

    async def _wait_printed(self, job_id: int) -> None:
        deadline = asyncio.get_running_loop().time() + PRINT_WAIT_S
        while asyncio.get_running_loop().time() < deadline:
            state = (await self._devices.jobs.get(job_id)).state
            if state == "done":
                return
            if state in ("failed", "canceled"):
                raise JobFailed(f"print job {job_id} {state}")
            await asyncio.sleep(0.2)
        raise JobFailed(f"print job {job_id} not printed within {PRINT_WAIT_S:.0f} s")

    async def _run(self, job: JobRequest) -> dict[str, Any]:
        source = f"cloud:job:{job.job_id}"
        if job.kind == "test_print":
            device = self._device(job)
            view = await self._devices.view(device)
            page = test_page(hub_name=self._config.hub_name, hub_id=self._hub_id, device_id=device, device_name=view.name,
                             url=view.url, language=self._devices.language_of(device))  # fmt: skip
            printed, _ = await self._devices.submit(device, "document", msgspec.json.encode(page),
                                                    idempotency_key=f"remote-{job.job_id}", source=source)  # fmt: skip
            await self._wait_printed(printed.id)
            return {"print_job_id": printed.id}
        if job.kind == "open_drawer":
            device = self._device(job)
            reason = str(job.params.get("reason", "remote"))
            kick, _ = await self._devices.open_drawer(device, DrawerRequest(reason=reason),
                                                      idempotency_key=f"remote-{job.job_id}", source=source)  # fmt: skip
            await self._wait_printed(kick.id)
            return {"print_job_id": kick.id}
        if job.kind == "x_report":
            report = await self._day_close.x_report(actor=source)
            return {"net_total": report.totals.net_total, "print_job_id": report.print_job_id}
        if job.kind == "restart_device":
            device = self._device(job)
            await self._devices.restart(device)
            return {"device": device}
        if job.kind == "diagnostics":
            usage = shutil.disk_usage(self._config.data_dir)
            views = await self._devices.views()
            return {
                "software_version": __version__, "python": platform.python_version(), "platform": platform.platform(),
                "backlog": await outbox.backlog(self._db), "disk_free_bytes": usage.free,
                "devices": [{"id": v.id, "status": v.status, "detail": v.detail} for v in views],
            }  # fmt: skip
        if job.kind == "resync":
            # The relay sends them again, acknowledged or not; the cloud stores what it lacks
            # and absorbs the rest. Nothing is marked undelivered: the backlog stays honest.
            from_seq = int(job.params.get("from_seq", 1))
            count = await self._db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE seq >= ?", (from_seq,))
            self.rewind(from_seq)
            return {"from_seq": from_seq, "facts_sent_again": int(count["n"]) if count is not None else 0}
        raise JobFailed(f"unknown job kind {job.kind}")
