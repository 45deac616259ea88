"""The API's error envelope, the same as the hub's: ``{"error": {"code", "message", "details"}}``.

Services raise :class:`DomainError` with a stable, machine-readable ``code``; Litestar's own
HTTP errors (validation, unknown route, wrong method) are mapped into the same envelope.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

log = logging.getLogger(__name__)


class ErrorBody(msgspec.Struct):
    """What went wrong: ``code`` is stable, ``message`` is for people, ``details`` is optional."""

    code: str
    message: str
    details: Any = None


class ErrorResponse(msgspec.Struct):
    """Every error the cloud API returns has this shape."""

    error: ErrorBody


class DomainError(Exception):
    """A refusal with an HTTP status and a machine-readable code, raised by services."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The object does not exist, or belongs to another tenant (the caller cannot tell which)."""

    def __init__(self, kind: str) -> None:
        super().__init__(404, "not_found", f"{kind} not found")


class Unauthorized(DomainError):
    """No valid credentials: a missing, unknown, expired or revoked token, or a wrong password."""

    def __init__(self, code: str = "unauthorized", message: str = "authentication required") -> None:
        super().__init__(401, code, message)


class Forbidden(DomainError):
    """The caller is known but their role does not allow the action."""

    def __init__(self, message: str = "your role does not allow this") -> None:
        super().__init__(403, "forbidden", message)


HTTP_CODES = {
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


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[ErrorResponse]:
    """An error response in the envelope."""
    return Response(
        ErrorResponse(ErrorBody(code=code, message=message, details=details)),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[ErrorResponse]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return envelope(exc.status, exc.code, exc.message, exc.details, headers)


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorResponse]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return envelope(400, "validation_error", exc.detail, exc.extra)
    code = HTTP_CODES.get(status, "server_error" if status >= 500 else "http_error")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return envelope(status, code, exc.detail, exc.extra or None, headers)


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    log.exception("unhandled error", exc_info=exc)
    return envelope(500, "internal_error", "internal server error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
