"""Users of a tenant: creation with an argon2 password, listing, lookup; always tenant-scoped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import ROLES, Tenant, User
from cloud.errors import DomainError, Forbidden, NotFound
from cloud.security import hash_password


class UserService:
    """Users, scoped to one tenant per call."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        tenant_id: uuid.UUID,
        *,
        email: str,
        password: str,
        role: str,
        name: str = "",
        actor_role: str | None = None,
    ) -> User:
        """Add a user; ``actor_role`` is the creator's role (None from the CLI).

        Only an owner may create another owner. An email is unique across the cloud, compared
        without case (409 ``email_taken``).
        """
        if role not in ROLES:
            raise DomainError(400, "invalid_role", f"role must be one of {', '.join(ROLES)}")
        if actor_role is not None and role == "owner" and actor_role != "owner":
            raise Forbidden("only an owner may create an owner")
        if len(password) < 8:
            raise DomainError(400, "weak_password", "a password has at least 8 characters")
        if await self.session.get(Tenant, tenant_id) is None:
            raise NotFound("tenant")
        normalized = email.strip().lower()
        if await self.session.scalar(select(User.id).where(User.email == normalized)) is not None:
            raise DomainError(409, "email_taken", "a user with this email exists")
        user = User(
            tenant_id=tenant_id,
            email=normalized,
            name=name,
            role=role,
            password_hash=hash_password(password),
        )
        self.session.add(user)
        try:
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()
            raise DomainError(409, "email_taken", "a user with this email exists") from None
        return user

    async def list(self, tenant_id: uuid.UUID) -> Sequence[User]:
        """Every user of the tenant, by email."""
        return (
            await self.session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.email))
        ).all()

    async def get(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
        """One user of the tenant; another tenant's user is 404."""
        user = await self.session.scalar(select(User).where(User.id == user_id, User.tenant_id == tenant_id))
        if user is None:
            raise NotFound("user")
        return user
