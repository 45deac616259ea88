"""``/api/v1/users``: the people who administer the caller's tenant."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.services import Caller
from cloud.domain.users.schemas import UserCreate, UserRead
from cloud.domain.users.services import UserService


class UserController(Controller):
    """Users of the caller's tenant."""

    path = "/api/v1/users"
    tags = ["users"]  # noqa: RUF012

    @get("/")
    async def list_users(self, caller: Caller, db_session: AsyncSession) -> list[UserRead]:
        """Every user of the caller's tenant."""
        return [UserRead.of(u) for u in await UserService(db_session).list(caller.tenant_id)]

    @post("/")
    async def create_user(self, data: UserCreate, caller: Caller, db_session: AsyncSession) -> UserRead:
        """Add a user (owners and admins; only an owner adds an owner)."""
        caller.require_admin()
        user = await UserService(db_session).create(
            caller.tenant_id,
            email=data.email,
            password=data.password,
            role=data.role,
            name=data.name,
            actor_role=caller.role,
        )
        return UserRead.of(user)

    @get("/{user_id:uuid}")
    async def get_user(self, user_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> UserRead:
        """One user of the caller's tenant (404 for anyone else's)."""
        return UserRead.of(await UserService(db_session).get(caller.tenant_id, user_id))
