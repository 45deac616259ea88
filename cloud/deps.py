"""Request-scoped dependencies shared by the controllers: a database session and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.domain.auth.services import Caller
from cloud.errors import Unauthorized
from cloud.settings import Settings


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request; services commit what they change, the rest is rolled back."""
    factory: async_sessionmaker[AsyncSession] = state.session_factory
    async with factory() as session:
        yield session


def provide_settings(state: State) -> Settings:
    """The settings the app was built with."""
    settings: Settings = state.settings
    return settings


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The authenticated caller, set by the token middleware."""
    user = request.scope.get("user")
    if not isinstance(user, Caller):
        raise Unauthorized()
    return user
