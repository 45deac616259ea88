"""Devices, print jobs, drawer kicks and test pages."""

from __future__ import annotations

import base64
import binascii

import msgspec

from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Reply, Router
from hub.api.schemas import (
    DeviceList,
    DrawerOpenRequest,
    JobList,
    JobQuery,
    PrintJob,
    PrintJobRequest,
    TestPageRequest,
)
from hub.devices.device_view import DeviceView
from hub.devices.manager import UnknownDevice, UnsupportedOperation
from hub.domain.print_jobs import (
    OPEN_STATES,
    IdempotencyConflict,
    InvalidJobState,
    JobKind,
    JobNotFound,
)
from hub.domain.print_render import DrawerRequest, test_page
from protocols.escpos import EscposError

router = Router()


def _device_id(ctx: RequestContext) -> str:
    device_id = ctx.request.match_info["device_id"]
    if device_id not in ctx.services.devices.device_ids:
        raise ApiError(404, "device_not_found", f"no device {device_id!r} is configured on this hub")
    return device_id


def _idempotency_key(ctx: RequestContext, in_body: str | None) -> str | None:
    header = ctx.request.headers.get("Idempotency-Key")
    if header and in_body and header != in_body:
        raise ApiError(
            400,
            "idempotency_key_mismatch",
            "Idempotency-Key header and body idempotency_key differ",
        )
    if header and len(header) > 128:
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key is longer than 128 characters")
    return in_body or header


async def _staff_gate(ctx: RequestContext, permission: str) -> None:
    """Once staff are set up, printing and job actions are an employee's (named in the audit)."""
    if ctx.staff is not None or await ctx.services.staff.has_employees():
        await ctx.require(permission)


async def _submit(
    ctx: RequestContext, device_id: str, kind: JobKind, payload: bytes, key: str | None
) -> Reply:
    await _staff_gate(ctx, "open_drawer" if kind == "drawer" else "sell")
    try:
        job, created = await ctx.services.devices.submit(
            device_id, kind, payload, idempotency_key=key, source=ctx.actor
        )
    except IdempotencyConflict as exc:
        raise ApiError(409, "idempotency_conflict", str(exc)) from None
    except UnsupportedOperation as exc:
        raise ApiError(409, "unsupported_operation", str(exc)) from None
    except EscposError as exc:
        raise ApiError(422, "unprintable_document", str(exc)) from None
    return Reply(201 if created else 200, job)


@router.route("GET", "/api/v1/devices", response=DeviceList, tags=("devices",))
async def list_devices(ctx: RequestContext, _: None) -> DeviceList:
    """Every device with its live status and queue counts."""
    return DeviceList(devices=await ctx.services.devices.views())


@router.route("GET", "/api/v1/devices/{device_id}", response=DeviceView, errors=(404,), tags=("devices",))
async def get_device(ctx: RequestContext, _: None) -> DeviceView:
    """One device with its live status."""
    return await ctx.services.devices.view(_device_id(ctx))


@router.route(
    "POST",
    "/api/v1/devices/{device_id}/jobs",
    body=PrintJobRequest,
    response=PrintJob,
    status=201,
    errors=(404, 409),
    tags=("printing",),
)
async def submit_job(ctx: RequestContext, body: PrintJobRequest) -> Reply:
    """Queue a print job: 201 with the new job, or 200 with the earlier job for a repeated key.

    The job is on disk before this answers; it prints in order even across restarts.
    """
    device_id = _device_id(ctx)
    key = _idempotency_key(ctx, body.idempotency_key)
    if (body.document is None) == (body.raw_base64 is None):
        raise ApiError(422, "invalid_job", "give exactly one of document or raw_base64")
    if body.document is not None:
        return await _submit(ctx, device_id, "document", msgspec.json.encode(body.document), key)
    try:
        raw = base64.b64decode(body.raw_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_base64", "raw_base64 is not valid base64") from None
    return await _submit(ctx, device_id, "raw", raw, key)


@router.route(
    "POST",
    "/api/v1/devices/{device_id}/drawer",
    body=DrawerOpenRequest,
    response=PrintJob,
    status=201,
    errors=(404, 409),
    tags=("printing",),
)
async def open_drawer(ctx: RequestContext, body: DrawerOpenRequest) -> Reply:
    """Open the cash drawer wired to this printer; queued behind earlier receipts and audited.

    Once staff are set up, opening the drawer without a sale needs the ``open_drawer``
    permission (the audit entry then names the employee).
    """
    await _staff_gate(ctx, "open_drawer")
    device_id = _device_id(ctx)
    request = DrawerRequest(pin=body.pin, on_ms=body.on_ms, off_ms=body.off_ms, reason=body.reason)
    return await _submit(
        ctx,
        device_id,
        "drawer",
        msgspec.json.encode(request),
        _idempotency_key(ctx, body.idempotency_key),
    )


@router.route(
    "POST",
    "/api/v1/devices/{device_id}/test-page",
    body=TestPageRequest,
    response=PrintJob,
    status=201,
    errors=(404,),
    tags=("printing",),
)
async def print_test_page(ctx: RequestContext, body: TestPageRequest) -> Reply:
    """Print the technician's test page (hub, device, time, and č ć đ š ž Č Ć Đ Š Ž)."""
    device_id = _device_id(ctx)
    s = ctx.services
    view = await s.devices.view(device_id)
    document = test_page(
        hub_name=s.config.hub_name,
        hub_id=s.hub_id,
        device_id=device_id,
        device_name=view.name,
        url=view.url,
        language=s.devices.language_of(device_id),
    )
    return await _submit(
        ctx,
        device_id,
        "document",
        msgspec.json.encode(document),
        _idempotency_key(ctx, body.idempotency_key),
    )


@router.route("GET", "/api/v1/jobs", query=JobQuery, response=JobList, tags=("printing",))
async def list_jobs(ctx: RequestContext, _: None) -> JobList:
    """Jobs, newest first; filter by device and state (``open`` = queued, printing or held)."""
    q: JobQuery = ctx.query
    if q.state == "open":
        states: tuple[str, ...] = OPEN_STATES
    else:
        states = (q.state,) if q.state else ()
    jobs = await ctx.services.jobs.query(device_id=q.device, states=states, before_id=q.before, limit=q.limit)
    return JobList(jobs=jobs)


async def _job_action(ctx: RequestContext, action: str) -> PrintJob:
    jobs = ctx.services.jobs
    job_id = ctx.path_int("job_id")
    if action in ("cancel", "retry"):
        await _staff_gate(ctx, "sell")
    try:
        if action == "cancel":
            return await jobs.cancel(job_id, ctx.actor)
        if action == "retry":
            return await jobs.retry(job_id, ctx.actor)
        return await jobs.get(job_id)
    except JobNotFound as exc:
        raise ApiError(404, "job_not_found", str(exc)) from None
    except InvalidJobState as exc:
        raise ApiError(409, "invalid_job_state", str(exc)) from None


@router.route("GET", "/api/v1/jobs/{job_id}", response=PrintJob, errors=(404,), tags=("printing",))
async def get_job(ctx: RequestContext, _: None) -> PrintJob:
    """One job and its state."""
    return await _job_action(ctx, "get")


@router.route(
    "POST", "/api/v1/jobs/{job_id}/cancel", response=PrintJob, errors=(404, 409), tags=("printing",)
)
async def cancel_job(ctx: RequestContext, _: None) -> PrintJob:
    """Cancel a queued or held job (one that has not started printing). Audited."""
    return await _job_action(ctx, "cancel")


@router.route("POST", "/api/v1/jobs/{job_id}/retry", response=PrintJob, errors=(404, 409), tags=("printing",))
async def retry_job(ctx: RequestContext, _: None) -> PrintJob:
    """Put a failed job back in its printer's queue."""
    return await _job_action(ctx, "retry")


__all__ = ["UnknownDevice", "router"]
