"""The API's error envelope: ``{"error": {"code", "message", "details"}}`` with a 4xx/5xx."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from hub.domain.errors import DomainError


class ErrorBody(msgspec.Struct):
    code: str
    message: str
    details: Any = None


class ErrorResponse(msgspec.Struct):
    """Every error the API returns has this shape; ``code`` is stable and machine-readable."""

    error: ErrorBody


class ApiError(Exception):
    """Raise from a handler to answer with an error envelope."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = msgspec.json.encode(ErrorResponse(ErrorBody(code=code, message=message, details=details)))
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn aiohttp's own HTTP errors (404, 405, 413 ...) into the JSON envelope."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except DomainError as exc:
        # Domain rules carry their own status and code; "changes nothing" holds because every
        # rule is checked before or inside the transaction that would have made the change.
        return error_response(exc.status, exc.code, str(exc), exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason or code)
