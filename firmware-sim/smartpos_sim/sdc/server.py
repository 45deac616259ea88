"""The SDC simulator's HTTP side: the SDC routes, the ``/sim`` control routes, fault switches.

See :mod:`smartpos_sim.sdc.cli` for the routes and what each fault does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from smartpos_sim.sdc.engine import Sdc
from smartpos_sim.sdc.validation import InvalidRequest, check_request_id, parse_invoice

_JSON = msgspec.json.Encoder(decimal_format="number")  # amounts go out as exact JSON numbers


@dataclass
class Faults:
    """Faults armed for the next invoice requests, each a count that runs down."""

    fail: int = 0
    drop: int = 0
    slow: int = 0
    slow_seconds: float = 2.0

    def arm(self, body: Any) -> None:
        """Set the counts given in ``body`` (others keep their value); ValueError if malformed."""
        if not isinstance(body, dict) or not set(body) <= {"fail", "drop", "slow", "slow_seconds"}:
            raise ValueError("expected an object with fail, drop, slow and/or slow_seconds")
        for name, value in body.items():
            kind = float if name == "slow_seconds" else int
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
            setattr(self, name, kind(value))

    def take(self, name: str) -> bool:
        """Whether fault ``name`` fires for this request (and count it down if so)."""
        left: int = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False


_SDC = web.AppKey("sdc", Sdc)
_FAULTS = web.AppKey("faults", Faults)


def build_app(sdc: Sdc, faults: Faults) -> web.Application:
    """The HTTP application: the SDC's routes and the simulator's control routes."""
    app = web.Application(client_max_size=1 << 20)
    app[_SDC] = sdc
    app[_FAULTS] = faults
    app.router.add_post("/api/v3/invoices", _create_invoice)
    app.router.add_get("/api/v3/invoices/{request_id}", _find_invoice)
    app.router.add_get("/api/v3/status", _status)
    app.router.add_get("/api/v3/attention", _attention)
    app.router.add_get("/sim/invoices", _list_invoices)
    app.router.add_get("/sim/faults", _get_faults)
    app.router.add_post("/sim/faults", _set_faults)
    return app


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=_JSON.encode(payload), status=status, content_type="application/json")


async def _create_invoice(request: web.Request) -> web.Response:
    sdc, faults = request.app[_SDC], request.app[_FAULTS]
    if faults.take("fail"):
        return _json({"message": "An error has occurred (simulated)."}, 500)
    request_id = request.headers.get("RequestId")
    try:
        check_request_id(request_id)
        invoice = parse_invoice(await request.read(), sdc.labels)
    except InvalidRequest as exc:
        return _json({"message": exc.message, "modelState": exc.model_state}, 400)
    answer = sdc.sign(invoice, request_id)
    if faults.take("drop"):
        # The invoice is signed and kept; only the answer is lost, as when a link drops.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)
    if faults.take("slow"):
        await asyncio.sleep(faults.slow_seconds)
    return _json(answer)


async def _find_invoice(request: web.Request) -> web.Response:
    answer = request.app[_SDC].find(request.match_info["request_id"])
    if answer is None:
        return _json({"message": "No invoice was signed for this RequestId."}, 404)
    return _json(answer)


async def _status(request: web.Request) -> web.Response:
    return _json(request.app[_SDC].status())


async def _attention(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def _list_invoices(request: web.Request) -> web.Response:
    return _json(request.app[_SDC].signed)


async def _get_faults(request: web.Request) -> web.Response:
    return _json(vars(request.app[_FAULTS]))


async def _set_faults(request: web.Request) -> web.Response:
    faults = request.app[_FAULTS]
    try:
        faults.arm(msgspec.json.decode(await request.read()))
    except (msgspec.DecodeError, ValueError) as exc:
        return _json({"message": str(exc)}, 400)
    return _json(vars(faults))
