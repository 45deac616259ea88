"""The TSE simulator's HTTP side: fiskaly-style routes under ``/api/v2``, bearer tokens, faults.

Routes (all JSON):

* ``POST /api/v2/auth`` with ``{"api_key", "api_secret"}`` (or ``{"refresh_token"}``) answers
  ``access_token``, ``access_token_expires_in``/``_at`` and a ``refresh_token``; wrong
  credentials ``401``. Every ``/api/v2/tss`` route wants ``Authorization: Bearer <token>``
  and answers ``401`` to a missing, unknown or expired one.
* ``GET /api/v2/tss/{tss_id}``: the TSS (serial number, public key, counters).
* ``PUT /api/v2/tss/{tss_id}/client/{client_id}`` with ``{"serial_number"}`` registers a till.
* ``PUT /api/v2/tss/{tss_id}/tx/{tx_id}?tx_revision=N`` and ``GET .../tx/{tx_id}``: see
  :mod:`smartpos_sim.tse.engine`.
* ``GET /sim/transactions``: every transaction with its revisions' signature counters.
* ``POST /sim/faults`` with ``{"fail": n, "drop": n, "slow": n, "slow_seconds": s,
  "revision": r}`` arms faults for the next ``n`` transaction PUTs each, only those at
  revision ``r`` when given: ``fail`` answers ``500`` and changes nothing; ``drop`` applies
  the revision (signed, counted) and closes the connection without answering; ``slow``
  applies it and answers after ``slow_seconds``. ``GET /sim/faults`` shows what is armed.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from smartpos_sim.tse.engine import Tss, TxError

_FAULT_KEYS = {"fail", "drop", "slow", "slow_seconds", "revision"}


@dataclass
class Faults:
    """Faults armed for the next transaction PUTs, each a count that runs down."""

    fail: int = 0
    drop: int = 0
    slow: int = 0
    slow_seconds: float = 2.0
    revision: int | None = None  # only PUTs at this tx_revision trip a fault

    def arm(self, body: Any) -> None:
        """Set what ``body`` gives (the rest keeps its value); ValueError if malformed."""
        if not isinstance(body, dict) or not set(body) <= _FAULT_KEYS:
            raise ValueError(f"expected an object with some of {', '.join(sorted(_FAULT_KEYS))}")
        for name, value in body.items():
            if name == "revision" and value is None:
                self.revision = None
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
            setattr(self, name, float(value) if name == "slow_seconds" else int(value))

    def take(self, name: str, revision: int) -> bool:
        """Whether fault ``name`` fires for a PUT at ``revision`` (and count it down if so)."""
        left: int = getattr(self, name)
        if left > 0 and self.revision in (None, revision):
            setattr(self, name, left - 1)
            return True
        return False


@dataclass
class Auth:
    """The API key the TSE accepts and the tokens it handed out (token -> expiry, monotonic)."""

    api_key: str
    api_secret: str
    ttl: float
    tokens: dict[str, float] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)

    def issue(self) -> dict[str, Any]:
        token, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.ttl
        self.refresh_tokens.add(refresh)
        now = int(time.time())
        return {
            "access_token": token,
            "access_token_expires_in": int(self.ttl),
            "access_token_expires_at": now + int(self.ttl),
            "access_token_claims": {"env": "TEST"},
            "refresh_token": refresh,
            "refresh_token_expires_in": int(self.ttl) * 2,
            "refresh_token_expires_at": now + int(self.ttl) * 2,
        }

    def valid(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        expiry = self.tokens.get(token) if scheme.lower() == "bearer" else None
        return expiry is not None and time.monotonic() < expiry


_TSS = web.AppKey("tss", Tss)
_AUTH = web.AppKey("auth", Auth)
_FAULTS = web.AppKey("faults", Faults)


def build_app(tss: Tss, auth: Auth, faults: Faults) -> web.Application:
    """The HTTP application: the TSE's routes and the simulator's control routes."""
    app = web.Application(client_max_size=1 << 20, middlewares=[_bearer])
    app[_TSS], app[_AUTH], app[_FAULTS] = tss, auth, faults
    app.router.add_post("/api/v2/auth", _login)
    app.router.add_get("/api/v2/tss/{tss_id}", _tss_info)
    app.router.add_put("/api/v2/tss/{tss_id}/client/{client_id}", _register_client)
    app.router.add_put("/api/v2/tss/{tss_id}/tx/{tx_id}", _upsert)
    app.router.add_get("/api/v2/tss/{tss_id}/tx/{tx_id}", _get_tx)
    app.router.add_get("/sim/transactions", _transactions)
    app.router.add_get("/sim/faults", _get_faults)
    app.router.add_post("/sim/faults", _set_faults)
    return app


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(payload), status=status, content_type="application/json")


def _error(exc: TxError) -> web.Response:
    return _json(exc.body(), exc.status)


@web.middleware
async def _bearer(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every TSS route needs a valid bearer token; a wrong TSS id is a 404."""
    if request.path.startswith("/api/v2/tss/"):
        if not request.app[_AUTH].valid(request.headers.get("Authorization")):
            return _error(TxError(401, "E_UNAUTHORIZED", "missing, unknown or expired access token"))
        if request.match_info.get("tss_id") != request.app[_TSS].tss_id:
            return _error(TxError(404, "E_TSS_NOT_FOUND", "no such TSS"))
    response: web.StreamResponse = await handler(request)
    return response


async def _body(request: web.Request) -> Any:
    try:
        return msgspec.json.decode(await request.read())
    except msgspec.DecodeError:
        raise TxError(400, "E_BAD_REQUEST", "the body is not JSON") from None


async def _login(request: web.Request) -> web.Response:
    auth = request.app[_AUTH]
    try:
        body = await _body(request)
    except TxError as exc:
        return _error(exc)
    ok = isinstance(body, dict) and (
        (body.get("api_key"), body.get("api_secret")) == (auth.api_key, auth.api_secret)
        or body.get("refresh_token") in auth.refresh_tokens
    )
    if not ok:
        return _error(TxError(401, "E_UNAUTHORIZED", "invalid api_key/api_secret or refresh_token"))
    return _json(auth.issue())


async def _tss_info(request: web.Request) -> web.Response:
    return _json(request.app[_TSS].info())


async def _register_client(request: web.Request) -> web.Response:
    tss = request.app[_TSS]
    try:
        body = await _body(request)
    except TxError as exc:
        return _error(exc)
    serial = body.get("serial_number") if isinstance(body, dict) else None
    if not isinstance(serial, str) or not serial:
        return _error(TxError(400, "E_BAD_REQUEST", "serial_number is required"))
    client_id = request.match_info["client_id"]
    tss.clients[client_id] = serial
    return _json({"_id": client_id, "_type": "CLIENT", "state": "REGISTERED", "serial_number": serial})


async def _upsert(request: web.Request) -> web.Response:
    tss, faults = request.app[_TSS], request.app[_FAULTS]
    try:
        revision = int(request.query.get("tx_revision", ""))
    except ValueError:
        return _error(TxError(400, "E_BAD_REQUEST", "tx_revision must be an integer >= 1"))
    if faults.take("fail", revision):
        return _json({"status_code": 500, "error": "Internal Server Error", "message": "simulated"}, 500)
    try:
        answer = tss.upsert(request.match_info["tx_id"], revision, await _body(request))
    except TxError as exc:
        return _error(exc)
    if faults.take("drop", revision):
        # The revision is signed and stored; only the answer is lost.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)
    if faults.take("slow", revision):
        await asyncio.sleep(faults.slow_seconds)
    return _json(answer)


async def _get_tx(request: web.Request) -> web.Response:
    try:
        return _json(request.app[_TSS].get(request.match_info["tx_id"]))
    except TxError as exc:
        return _error(exc)


async def _transactions(request: web.Request) -> web.Response:
    return _json(request.app[_TSS].listing())


async def _get_faults(request: web.Request) -> web.Response:
    return _json(vars(request.app[_FAULTS]))


async def _set_faults(request: web.Request) -> web.Response:
    faults = request.app[_FAULTS]
    try:
        faults.arm(msgspec.json.decode(await request.read()))
    except (msgspec.DecodeError, ValueError) as exc:
        return _json({"message": str(exc)}, 400)
    return _json(vars(faults))
