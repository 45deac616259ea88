"""``/api/v1/auth``: log in, log out, who am I."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.schemas import LoginRequest, LoginResponse
from cloud.domain.auth.services import AuthService, Caller
from cloud.domain.users.schemas import UserRead
from cloud.settings import Settings


class AuthController(Controller):
    """Token authentication."""

    path = "/api/v1/auth"
    tags = ["auth"]  # noqa: RUF012

    @post("/login", exclude_from_auth=True, security=[], status_code=200)
    async def login(self, data: LoginRequest, db_session: AsyncSession, settings: Settings) -> LoginResponse:
        """Exchange an email and password for a bearer token (401 ``invalid_credentials``)."""
        issued = await AuthService(db_session, settings).login(data.email, data.password)
        return LoginResponse(token=issued.token, expires_at=issued.expires_at, user=UserRead.of(issued.user))

    @post("/logout", status_code=204)
    async def logout(self, caller: Caller, db_session: AsyncSession, settings: Settings) -> None:
        """Revoke the token this request carries."""
        await AuthService(db_session, settings).revoke(caller)

    @get("/me")
    async def me(self, caller: Caller, db_session: AsyncSession, settings: Settings) -> UserRead:
        """The calling user."""
        return UserRead.of(await AuthService(db_session, settings).current_user(caller))
