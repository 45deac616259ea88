"""Authentication for every route not marked ``exclude_from_auth``: login tokens and API keys.

Credentials come as ``Authorization: Bearer <token>`` or ``X-API-Key: <key>``. A credential
with the API-key prefix is looked up as a key and the caller becomes a
:class:`Caller` of the key's tenant with the ``api_key`` role, and the connection's ``auth`` is the
key's :class:`~cloud.domain.auth.scopes.KeyGrant` (its scopes); such a caller is only let
through to routes guarded with :func:`~cloud.domain.auth.scopes.requires_scope` (403
``api_key_not_allowed`` elsewhere). Anything else is a user's login token.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.domain.apikeys.services import ApiKeyService, looks_like_api_key
from cloud.domain.auth.scopes import route_scopes
from cloud.domain.auth.services import AuthService
from cloud.errors import DomainError, Unauthorized


def credential(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The bearer token or API key the request carries (401 if none)."""
    header = connection.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = connection.headers.get("x-api-key", "").strip()
    if key:
        return key
    raise Unauthorized("unauthorized", "a bearer token or an API key is required")


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets the :class:`Caller` (a user's or an API key's) as the connection's user."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        token = credential(connection)
        factory: async_sessionmaker[AsyncSession] = connection.app.state.session_factory
        if not looks_like_api_key(token):
            async with factory() as session:
                caller = await AuthService(session, connection.app.state.settings).authenticate(token)
            return AuthenticationResult(user=caller, auth=token)
        async with factory() as session:
            caller, grant = await ApiKeyService(session).authenticate(token)
        if not route_scopes(connection.route_handler):
            raise DomainError(403, "api_key_not_allowed", "API keys cannot use this endpoint")
        return AuthenticationResult(user=caller, auth=grant)
