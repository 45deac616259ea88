"""A thin typed router: one declaration per endpoint drives decoding, auth and OpenAPI.

Handlers receive a decoded msgspec body (or None) and return a msgspec Struct, a list of them,
or a :class:`Reply` when the status code depends on the outcome (201 created / 200 replayed).
Bad JSON, wrong types and unknown fields become 4xx errors before the handler runs, so a
handler only ever sees valid input (principle 6).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from aiohttp import web

from hub.api.context import HubServices, RequestContext
from hub.api.errors import ApiError, ErrorResponse
from hub.domain.auth import Principal

Auth = Literal["none", "device", "admin"]
Handler = Callable[[RequestContext, Any], Awaitable[Any]]
SERVICES: web.AppKey[HubServices] = web.AppKey("services", HubServices)


@dataclass
class Reply:
    """A response body with an explicit status code."""

    status: int
    body: Any


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    description: str
    auth: Auth
    body: Any = None
    query: type[msgspec.Struct] | None = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass
class Router:
    """Collects routes; :meth:`install` adds them to an aiohttp application."""

    routes: list[Route] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        auth: Auth = "device",
        body: Any = None,
        query: type[msgspec.Struct] | None = None,
        response: Any = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        tags: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            doc = (handler.__doc__ or "").strip()
            summary, _, description = doc.partition("\n")
            self.routes.append(
                Route(
                    method,
                    path,
                    handler,
                    summary.strip(),
                    description.strip(),
                    auth,
                    body,
                    query,
                    response,
                    status,
                    errors,
                    tags,
                )
            )
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for route in self.routes:
            app.router.add_route(route.method, route.path, _wrap(route))


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return ""


async def authenticate(
    request: web.Request, auth: Auth, *, allow_query_token: bool = False
) -> Principal | None:
    """The caller's principal, or an ApiError 401/403 when the route needs more."""
    if auth == "none":
        return None
    token = bearer_token(request)
    if not token and allow_query_token:
        # Browsers cannot set headers on a WebSocket, so the events route also takes ?token=.
        token = request.query.get("token", "")
    if not token:
        raise ApiError(401, "unauthorized", "a paired device token is required (Authorization: Bearer ...)")
    principal = await request.app[SERVICES].auth.authenticate(token)
    if principal is None:
        raise ApiError(401, "unauthorized", "the token is unknown or has been revoked")
    if auth == "admin" and principal.role != "admin":
        raise ApiError(403, "forbidden", "this action needs the hub's local admin credential")
    return principal


def _validation_details(exc: msgspec.ValidationError) -> dict[str, str]:
    text = str(exc)
    match = re.search(r"- at `(?P<path>[^`]+)`", text)
    path = match.group("path") if match else "$"
    message = text[: match.start()].strip() if match else text
    return {"path": path, "reason": message}


async def _decode_body(request: web.Request, body_type: Any) -> Any:
    if request.content_type not in ("application/json", "") and request.can_read_body:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()  # enforces client_max_size: raises 413 past the limit
    if not raw:
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=body_type)
    except msgspec.ValidationError as exc:
        details = _validation_details(exc)
        code = "unknown_field" if "unknown field" in details["reason"] else "validation_failed"
        raise ApiError(
            422, code, f"invalid request body at {details['path']}: {details['reason']}", details
        ) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


def _decode_query(request: web.Request, query_type: type[msgspec.Struct]) -> Any:
    try:
        return msgspec.convert(dict(request.query), query_type, strict=False)
    except msgspec.ValidationError as exc:
        details = _validation_details(exc)
        raise ApiError(
            400,
            "invalid_query",
            f"invalid query parameter {details['path']}: {details['reason']}",
            details,
        ) from None


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal = await authenticate(request, route.auth)
        services = request.app[SERVICES]
        ctx = RequestContext(request=request, services=services, principal=principal)
        staff_token = request.headers.get("X-Staff-Session", "")
        if staff_token and principal is not None:
            # The session is bound to the device that opened it (its token's actor).
            ctx.staff = await services.staff.session(staff_token, device=principal.actor)
        if route.query is not None:
            ctx.query = _decode_query(request, route.query)
        body = await _decode_body(request, route.body) if route.body is not None else None
        result = await route.handler(ctx, body)
        if isinstance(result, web.StreamResponse):
            return result
        status = route.status
        if isinstance(result, Reply):
            status, result = result.status, result.body
        return web.Response(status=status, body=msgspec.json.encode(result), content_type="application/json")

    handle.__name__ = route.handler.__name__
    return handle


__all__ = ["SERVICES", "ApiError", "ErrorResponse", "Reply", "Route", "Router", "authenticate"]
