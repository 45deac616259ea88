"""The ErpNet.FP-compatible REST surface: ``/printers/...`` on its own port (``[erpnet]``).

Existing ErpNet.FP clients point here unchanged: the same paths, bodies, answers and E/W codes,
``asyncTimeout`` (wait that many ms for the answer, 29000 by default; 0 answers ``{taskId}`` at
once) and a caller's own ``taskId``. A printer id is the hub's id of a ``fiscal_printer``
device. Every print request is a durable fiscal document (hub.domain.fiscal.erpnet_tasks)
worked by the device's own worker, so a restart loses no task and taskinfo keeps answering.

Deliberate differences from ErpNet.FP, each the safe side of its behaviour:
- ``/status`` reports what the device's worker last saw, without a request of its own to the
  device (only the worker talks to it), so it has no ``deviceDateTime``;
- ``datetime``, ``rawrequest``, ``reset``, ``invoice``, ``creditnote`` and ``cash`` answer E413:
  the device's clock dates fiscal records and raw commands bypass the journal;
- a finished task's info stays readable (ErpNet.FP forgets it after the first read).

Handlers are thin: request rules live in :mod:`hub.domain.fiscal.erpnet`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from hub.devices.fiscal_worker import FiscalWorker
from hub.devices.manager import DeviceManager, UnknownDevice
from hub.domain.clock import iso_in
from hub.domain.errors import DomainError
from hub.domain.fiscal.erpnet import PAYMENT_TYPES, ErpNetError, refused, status_answer
from hub.domain.fiscal.erpnet_tasks import Action, ErpNetTasks, TaskId

DEFAULT_ASYNC_TIMEOUT_MS = 29_000  # ErpNet.FP's default: under the 30 s many HTTP clients allow
MAX_ASYNC_TIMEOUT_MS = 600_000
_TIMEOUT = re.compile(r"^([0-9]{1,9})(ms|s|m)?$")
_TIMEOUT_UNITS = {"ms": 1, "": 1, "s": 1000, "m": 60_000}
_ENCODE = msgspec.json.Encoder(decimal_format="number").encode  # ErpNet amounts are JSON numbers
_MANUFACTURERS = {"datecs_x": "Datecs"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class ErpNetContext:
    tasks: ErpNetTasks
    devices: DeviceManager
    token: str = ""  # empty: no token asked (loopback only, see hub.config)


ERPNET: web.AppKey[ErpNetContext] = web.AppKey("erpnet", ErpNetContext)


class PrinterInfo(msgspec.Struct, kw_only=True, rename="camel"):
    """ErpNet.FP's device info, from what the driver read from the device when it connected."""

    uri: str
    serial_number: str
    fiscal_memory_serial_number: str
    manufacturer: str
    model: str
    firmware_version: str
    item_text_max_length: int
    comment_text_max_length: int
    operator_password_max_length: int
    tax_identification_number: str
    supported_payment_types: list[str]
    supports_sub_total_amount_modifiers: bool = False
    support_payment_terminal: bool = False
    use_payment_terminal: bool = False


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=_ENCODE(body), content_type="application/json")


def _printer(request: web.Request) -> FiscalWorker:
    device_id = request.match_info["id"]
    try:
        worker = request.app[ERPNET].devices.worker(device_id)
    except UnknownDevice:
        worker = None
    if not isinstance(worker, FiscalWorker):
        raise ErpNetError("E101", f"no fiscal printer {device_id!r} on this hub", status=404)
    return worker


def _info(worker: FiscalWorker) -> PrinterInfo:
    spec = worker.spec
    # Known once the driver has connected (Datecs: command 90); empty until then.
    device = getattr(worker.driver, "info", None)
    return PrinterInfo(
        uri=str(spec.url),
        serial_number=getattr(device, "serial_number", ""),
        fiscal_memory_serial_number=getattr(device, "fm_number", ""),
        manufacturer=_MANUFACTURERS.get(spec.driver_name, spec.driver_name),
        model=getattr(device, "name", ""),
        firmware_version=getattr(device, "firmware", ""),
        item_text_max_length=72,  # what the drivers print of a name (protocols: MAX_NAME)
        comment_text_max_length=int(getattr(spec.options, "comment_width", 42)) - 2,
        operator_password_max_length=8,
        tax_identification_number="",
        supported_payment_types=list(PAYMENT_TYPES),
    )


def _fiscal_printers(context: ErpNetContext) -> list[FiscalWorker]:
    workers = (context.devices.worker(device_id) for device_id in context.devices.device_ids)
    return [worker for worker in workers if isinstance(worker, FiscalWorker)]


def _async_timeout_ms(request: web.Request) -> int:
    text = request.query.get("asyncTimeout", "")
    if not text:
        return DEFAULT_ASYNC_TIMEOUT_MS
    try:
        value = int(text)
    except ValueError:
        raise ErpNetError(
            "E401", f"asyncTimeout: {text!r} is not a number of milliseconds", status=400
        ) from None
    # ErpNet.FP: a negative value means the default; a long wait is bounded all the same.
    return DEFAULT_ASYNC_TIMEOUT_MS if value < 0 else min(value, MAX_ASYNC_TIMEOUT_MS)


def _deadline(request: web.Request) -> str | None:
    """ErpNet.FP's ``timeout`` ("30000", "30s", "2m"): a task not started by then never starts."""
    text = request.query.get("timeout", "")
    if not text:
        return None
    match = _TIMEOUT.fullmatch(text.strip().lower())
    if match is None:
        raise ErpNetError("E401", f"timeout: {text!r} is not a duration (ms, s or m)", status=400)
    milliseconds = int(match.group(1)) * _TIMEOUT_UNITS[match.group(2) or ""]
    return iso_in(milliseconds / 1000) if milliseconds > 0 else None


async def _run(request: web.Request, action: Action) -> web.Response:
    """Queue ``action`` on the printer and answer its result, or ``{taskId}`` when not final."""
    worker = _printer(request)
    context = request.app[ERPNET]
    wait_ms = _async_timeout_ms(request)
    task_id = await context.tasks.submit(
        action, worker.device_id, await request.read(), task_id=request.query.get("taskId") or None,
        exponent=int(getattr(worker.spec.options, "currency_exponent", 2)), not_after=_deadline(request),
    )  # fmt: skip
    if wait_ms > 0:
        info = await context.tasks.wait(task_id, wait_ms / 1000)
        if info.task_status == "finished":
            return _json(info.result)
    # ErpNet.FP answers 200 here too: its clients look for "taskId" in the body.
    return _json(TaskId(task_id))


async def list_printers(request: web.Request) -> web.Response:
    """The hub's fiscal printers by id, each with its device info (``GET /printers``)."""
    return _json({worker.device_id: _info(worker) for worker in _fiscal_printers(request.app[ERPNET])})


async def printer_info(request: web.Request) -> web.Response:
    """One fiscal printer's device info (``GET /printers/{id}``)."""
    return _json(_info(_printer(request)))


async def printer_status(request: web.Request) -> web.Response:
    """The printer's state as its worker last saw it: ok, and E/W messages for its conditions."""
    health = _printer(request).health
    return _json(status_answer(health.state, tuple(health.conditions), health.detail))


async def task_info(request: web.Request) -> web.Response:
    """A task's status (unknown, enqueued, running, finished) and, once finished, its result."""
    return _json(await request.app[ERPNET].tasks.info(request.query.get("id", "")))


async def print_receipt(request: web.Request) -> web.Response:
    """Print a fiscal receipt: items, comments, payments, uniqueSaleNumber (``POST .../receipt``)."""
    return await _run(request, "receipt")


async def print_reversal(request: web.Request) -> web.Response:
    """Print a reversal (storno) of a receipt given by receiptNumber, receiptDateTime and FM."""
    return await _run(request, "reversalreceipt")


async def x_report(request: web.Request) -> web.Response:
    """Print the X report (the day's totals, nothing zeroed)."""
    return await _run(request, "xreport")


async def z_report(request: web.Request) -> web.Response:
    """Print the Z report: the day's totals go to the fiscal memory and are zeroed."""
    return await _run(request, "zreport")


async def deposit(request: web.Request) -> web.Response:
    """Register cash put into the drawer (``{"amount": 12.34}``)."""
    return await _run(request, "deposit")


async def withdraw(request: web.Request) -> web.Response:
    """Register cash taken out of the drawer (``{"amount": 12.34}``)."""
    return await _run(request, "withdraw")


async def duplicate(request: web.Request) -> web.Response:
    """Print the duplicate of the last fiscal receipt (devices print one per receipt)."""
    return await _run(request, "duplicate")


async def not_supported(request: web.Request) -> web.Response:
    """ErpNet.FP requests the hub does not take: answered E413, nothing queued (see above)."""
    _printer(request)
    what = request.path.rsplit("/", 1)[-1]
    return _json(refused("E413", f"{what} is not available through the hub's ErpNet.FP API"))


_HTTP_CODES = {404: "E402", 405: "E402", 413: "E403"}


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The token (when one is configured), and every refusal in ErpNet's answer shape."""
    token = request.app[ERPNET].token
    if token:
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else request.query.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _json(refused("E408", "access denied: send the [erpnet] token"), status=401)
    try:
        return await handler(request)
    except DomainError as exc:
        return _json(refused(exc.code, str(exc)), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _json(refused(_HTTP_CODES.get(exc.status, "E401"), exc.reason or "bad request"), exc.status)


def build_erpnet_app(context: ErpNetContext, *, max_body: int) -> web.Application:
    """The aiohttp application serving only the ErpNet.FP routes."""
    app = web.Application(client_max_size=max_body, middlewares=[_guard])
    app[ERPNET] = context
    router = app.router
    router.add_get("/printers", list_printers)
    router.add_get("/printers/taskinfo", task_info)  # before {id}, which would take it
    router.add_get("/printers/{id}", printer_info)
    router.add_get("/printers/{id}/status", printer_status)
    router.add_get("/printers/{id}/cash", not_supported)
    actions: dict[str, Handler] = {
        "receipt": print_receipt, "reversalreceipt": print_reversal, "xreport": x_report,
        "zreport": z_report, "deposit": deposit, "withdraw": withdraw, "duplicate": duplicate,
    }  # fmt: skip
    for name, handler in actions.items():
        router.add_post(f"/printers/{{id}}/{name}", handler)
    for name in ("datetime", "rawrequest", "reset", "invoice", "creditnote"):
        router.add_post(f"/printers/{{id}}/{name}", not_supported)
    return app
