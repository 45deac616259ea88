"""Login with email and password, bearer tokens, and the caller every request acts as."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models import ApiToken, User
from cloud.errors import Forbidden, Unauthorized
from cloud.security import digest, new_token, verify_password
from cloud.settings import Settings

ADMIN_ROLES = frozenset({"owner", "admin"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: every query a service runs for them is scoped to ``tenant_id``."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    token_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        """Owners and admins may change configuration; managers only read."""
        return self.role in ADMIN_ROLES

    def require_admin(self) -> None:
        """Refuse (403) unless the caller is an owner or an admin."""
        if not self.is_admin:
            raise Forbidden("only owners and admins may do this")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: the only time its plaintext exists."""

    token: str
    expires_at: datetime | None
    user: User


class AuthService:
    """Issues, checks and revokes bearer tokens."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def login(self, email: str, password: str) -> IssuedToken:
        """Exchange an email and password for a bearer token; any mismatch is the same 401."""
        user = await self.session.scalar(select(User).where(User.email == email.strip().lower()))
        ok = verify_password(user.password_hash if user is not None else None, password)
        if user is None or not ok or not user.is_active:
            raise Unauthorized("invalid_credentials", "wrong email or password")
        return await self.issue(user, name="login", ttl_s=self.settings.token_ttl_s)

    async def issue(self, user: User, *, name: str, ttl_s: int | None) -> IssuedToken:
        """A new token for ``user`` (``ttl_s`` None: no expiry, for integration keys)."""
        token = new_token()
        expires_at = utcnow() + timedelta(seconds=ttl_s) if ttl_s is not None else None
        self.session.add(
            ApiToken(
                tenant_id=user.tenant_id,
                user_id=user.id,
                name=name,
                token_hash=digest(token),
                expires_at=expires_at,
            )
        )
        await self.session.commit()
        return IssuedToken(token=token, expires_at=expires_at, user=user)

    async def authenticate(self, token: str) -> Caller:
        """The caller a bearer token stands for, or 401 if it is unknown, expired or revoked."""
        row = (
            await self.session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest(token))
            )
        ).one_or_none()
        if row is None:
            raise Unauthorized("invalid_token", "unknown token")
        api_token, user = row
        if api_token.revoked_at is not None:
            raise Unauthorized("invalid_token", "token revoked")
        if api_token.expires_at is not None and api_token.expires_at <= utcnow():
            raise Unauthorized("token_expired", "token expired")
        if not user.is_active or user.tenant_id != api_token.tenant_id:
            raise Unauthorized("invalid_token", "user disabled")
        return Caller(user_id=user.id, tenant_id=user.tenant_id, role=user.role, token_id=api_token.id)

    async def revoke(self, caller: Caller) -> None:
        """Revoke the token the caller used (logout)."""
        await self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == caller.token_id, ApiToken.tenant_id == caller.tenant_id)
            .values(revoked_at=utcnow())
        )
        await self.session.commit()

    async def current_user(self, caller: Caller) -> User:
        """The caller's user row."""
        user = await self.session.scalar(
            select(User).where(User.id == caller.user_id, User.tenant_id == caller.tenant_id)
        )
        if user is None:
            raise Unauthorized()
        return user
