"""Scopes: what an API key may do, and the guard controllers put on routes keys may reach.

A route guarded with ``requires_scope("fleet:read")`` admits

- a user (bearer login token) whose role grants the scope (:data:`ROLE_SCOPES`), and
- an API key that was created with the scope.

API keys reach **only** routes that carry such a guard: the auth middleware refuses a key (403
``api_key_not_allowed``) on any other route, so users, API keys, webhooks, stores and hubs can
never be managed with a key, and a new route is closed to keys until someone gives it a scope.
An API key's caller also has no admin role, so ``Caller.require_admin()`` refuses it: a route
that keys with ``config:write`` should reach guards with ``requires_scope("config:write")``
(which admits owners and admins by role) instead of calling ``require_admin()``.

A key's scopes travel as the connection's ``auth`` (a :class:`KeyGrant`); inside a handler,
``check_scope(caller, scope, request.auth)`` applies the same rule to a finer decision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal, get_args

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from cloud.domain.auth.services import Caller
from cloud.errors import DomainError, Unauthorized

Scope = Literal["reports:read", "config:read", "config:write", "fleet:read", "jobs:write"]
SCOPES: frozenset[str] = frozenset(get_args(Scope))
API_KEY_ROLE = "api_key"
_READ = frozenset({"reports:read", "config:read", "fleet:read"})
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "owner": SCOPES,
    "admin": SCOPES,
    # Managers read everything and send the jobs their role allows (the job service checks the kind).
    "manager": _READ | {"jobs:write"},
}
_GUARD_SCOPE = "_smartpos_scope"


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What an API key grants, kept as the connection's ``auth`` beside its :class:`Caller`.

    The caller of a key is a plain :class:`Caller`: the key's tenant, ``user_id`` the admin who
    created the key (what its actions are attributed to), ``token_id`` the key's id, and
    ``role`` :data:`API_KEY_ROLE`, which is no admin role.
    """

    api_key_id: uuid.UUID
    scopes: frozenset[str]


def caller_scopes(caller: Caller, grant: object = None) -> frozenset[str]:
    """The scopes a caller holds: a key's own (``grant``), or those of a user's role."""
    if isinstance(grant, KeyGrant):
        return grant.scopes
    if caller.role == API_KEY_ROLE:
        return frozenset()  # a key's caller without its grant holds nothing
    return ROLE_SCOPES.get(caller.role, frozenset())


def check_scope(caller: Caller, scope: str, grant: object = None) -> None:
    """Refuse (403 ``insufficient_scope``) unless ``caller`` (with ``grant``) holds ``scope``."""
    if scope not in caller_scopes(caller, grant):
        who = "this API key lacks" if caller.role == API_KEY_ROLE else "your role does not grant"
        raise DomainError(403, "insufficient_scope", f"{who} the scope {scope}", {"scope": scope})


def requires_scope(scope: Scope) -> Guard:
    """A Litestar guard: the caller must hold ``scope`` (see the module docstring)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.scope.get("user")
        if not isinstance(caller, Caller):
            raise Unauthorized()
        check_scope(caller, scope, connection.scope.get("auth"))

    setattr(guard, _GUARD_SCOPE, scope)
    guard.__name__ = f"requires_scope_{scope.replace(':', '_')}"
    return guard


def route_scopes(handler: BaseRouteHandler) -> set[str]:
    """The scopes the guards of ``handler`` (and its controller and routers) require."""
    guards = [g for layer in handler.ownership_layers for g in (layer.guards or ())]
    return {s for g in guards if (s := getattr(g, _GUARD_SCOPE, None)) is not None}
