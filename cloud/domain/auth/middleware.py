"""Bearer-token authentication for every route not marked ``exclude_from_auth``."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.domain.auth.services import AuthService
from cloud.errors import Unauthorized


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    """Reads ``Authorization: Bearer <token>`` and sets the :class:`Caller` as the user."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("unauthorized", "a bearer token is required")
        factory: async_sessionmaker[AsyncSession] = connection.app.state.session_factory
        async with factory() as session:
            caller = await AuthService(session, connection.app.state.settings).authenticate(token.strip())
        return AuthenticationResult(user=caller, auth=token.strip())
