"""Errors a domain rule raises: each carries the HTTP status and the machine-readable code the
API answers with, so the API layer maps them without knowing the rule."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule said no; ``status``, ``code`` and ``details`` go to the API client unchanged."""

    status = 409

    def __init__(self, code: str, message: str, *, status: int | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Invalid(DomainError):
    status = 422


class Conflict(DomainError):
    status = 409
