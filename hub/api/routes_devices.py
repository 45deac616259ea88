"""Device fleet: what discovery found, adopting and removing devices, tests and display text.

Thin handlers: the rules (which driver, which id, which role) live in ``hub.devices``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Reply, Router
from hub.config import ConfigError
from hub.devices.adoption import AdoptRequest, FoundLike, adoption_config
from hub.devices.device_view import DeviceView
from hub.devices.discovery import Discovery, FoundView
from hub.devices.manager import UnknownDevice, UnsupportedOperation
from hub.domain.print_render import test_page

router = Router()

DisplayLine = Annotated[str, msgspec.Meta(max_length=80)]


class DiscoveryQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    refresh: bool = False


class DiscoveryList(msgspec.Struct, kw_only=True):
    """Everything seen on the watched buses; ``supported`` false means no driver claims it."""

    buses: list[str]
    found: list[FoundView]


class DisplayRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    lines: Annotated[list[DisplayLine], msgspec.Meta(min_length=1, max_length=4)]


class RemovedDevice(msgspec.Struct, kw_only=True):
    removed: str


class DeviceTest(msgspec.Struct, kw_only=True):
    """The outcome of ``test``: a printer's test page is a job to follow by ``job_id``."""

    device_id: str
    kind: str
    status: str
    detail: str
    job_id: int | None = None


def _discovery(ctx: RequestContext) -> Discovery:
    discovery = ctx.services.discovery
    if discovery is None:
        raise ApiError(409, "discovery_disabled", "device discovery is off ([discovery] enabled = false)")
    return discovery


def _device_id(ctx: RequestContext) -> str:
    device_id = ctx.request.match_info["device_id"]
    if device_id not in ctx.services.devices.device_ids:
        raise ApiError(404, "device_not_found", f"no device {device_id!r} is configured on this hub")
    return device_id


@router.route("GET", "/api/v1/discovery", auth="admin", query=DiscoveryQuery, response=DiscoveryList,
              errors=(409,), tags=("devices",))  # fmt: skip
async def list_found(ctx: RequestContext, _: None) -> DiscoveryList:
    """Devices seen on USB, serial, mDNS and BLE, each with the driver that would take it.

    ``refresh=true`` scans the polled buses (USB, serial) first.
    """
    discovery = _discovery(ctx)
    if ctx.query.refresh:
        await discovery.rescan()
    return DiscoveryList(buses=discovery.buses, found=discovery.views())


@router.route("POST", "/api/v1/devices", auth="admin", body=AdoptRequest, response=DeviceView, status=201,
              errors=(404, 409, 422), tags=("devices",))  # fmt: skip
async def adopt_device(ctx: RequestContext, body: AdoptRequest) -> DeviceView:
    """Adopt a discovered device (``found_id``) or one given by ``url``, with a role; audited.

    The device starts at once and is kept across restarts.
    """
    found = None
    if body.found_id:
        view = _discovery(ctx).get(body.found_id)
        if view is None:
            raise ApiError(404, "not_found", f"discovery has not seen {body.found_id!r} (try refresh=true)")
        found = msgspec.convert(msgspec.to_builtins(view), FoundLike, strict=False)
    manager = ctx.services.devices
    config = adoption_config(body, found, set(manager.device_ids))
    try:
        spec = manager.resolve_adopted(config, body.found_id or None)
    except ConfigError as exc:
        field = str(exc).partition(":")[0].removeprefix("device.")
        raise ApiError(422, "invalid_device", str(exc), {"field": field}) from None
    return await manager.add(spec, actor=ctx.actor)


@router.route("DELETE", "/api/v1/devices/{device_id}", auth="admin", response=RemovedDevice,
              errors=(404, 409), tags=("devices",))  # fmt: skip
async def remove_device(ctx: RequestContext, _: None) -> RemovedDevice:
    """Stop and forget an adopted device (devices in hub.toml answer 409 ``configured_in_file``)."""
    device_id = _device_id(ctx)
    try:
        await ctx.services.devices.remove(device_id, actor=ctx.actor)
    except UnsupportedOperation as exc:
        code = "configured_in_file" if "hub.toml" in str(exc) else "jobs_pending"
        raise ApiError(409, code, str(exc)) from None
    return RemovedDevice(removed=device_id)


@router.route("POST", "/api/v1/devices/{device_id}/test", auth="admin", response=DeviceTest,
              errors=(404,), tags=("devices",))  # fmt: skip
async def run_device_test(ctx: RequestContext, _: None) -> Reply:
    """The test that suits the kind: a printer prints its test page, a display shows a test
    pattern, a scanner reports whether it is connected and how many scans it has read."""
    device_id = _device_id(ctx)
    s = ctx.services
    manager = s.devices
    view = await manager.view(device_id)
    if view.kind == "printer":
        document = test_page(hub_name=s.config.hub_name, hub_id=s.hub_id, device_id=device_id,
                             device_name=view.name, url=view.url, language=manager.language_of(device_id))  # fmt: skip
        job, _created = await manager.submit(device_id, "document", msgspec.json.encode(document),
                                      idempotency_key=None, source=ctx.actor)  # fmt: skip
        return Reply(201, DeviceTest(device_id=device_id, kind=view.kind, status=view.status,
                                     detail="test page queued", job_id=job.id))  # fmt: skip
    if view.kind == "line_display":
        worker = manager.display(device_id)
        columns = int(getattr(worker.spec.options, "columns", 20))
        worker.show(("SmartPOS display test"[:columns], ("0123456789" * 8)[:columns]))
        return Reply(200, DeviceTest(device_id=device_id, kind=view.kind, status=view.status,
                                     detail="test pattern sent; check the display"))  # fmt: skip
    scans = int(getattr(manager.worker(device_id), "scans", 0))
    detail = f"{scans} scan(s) read since start; scan a barcode and watch for scanner.scan events"
    return Reply(200, DeviceTest(device_id=device_id, kind=view.kind, status=view.status, detail=detail))


@router.route("POST", "/api/v1/devices/{device_id}/display", auth="admin", body=DisplayRequest,
              response=DeviceView, errors=(404, 409), tags=("devices",))  # fmt: skip
async def show_text(ctx: RequestContext, body: DisplayRequest) -> DeviceView:
    """Show text on a customer display until the next sale event changes it."""
    device_id = _device_id(ctx)
    try:
        ctx.services.devices.display(device_id).show(tuple(body.lines))
    except (UnsupportedOperation, UnknownDevice) as exc:
        raise ApiError(409, "not_a_display", str(exc)) from None
    return await ctx.services.devices.view(device_id)
