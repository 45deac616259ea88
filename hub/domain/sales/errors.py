"""Errors of the sales context: the domain's typed errors, under the names sales code uses."""

from __future__ import annotations

from hub.domain.errors import DomainError, Forbidden, Invalid, NotFound

SalesError = DomainError

__all__ = ["Forbidden", "Invalid", "NotFound", "SalesError"]
