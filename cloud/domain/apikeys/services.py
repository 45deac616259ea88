"""Issuing, listing, revoking and checking API keys.

A key is ``spk_`` and 256 random bits (URL-safe base64). Only its SHA-256 digest is stored
(a long random string needs no slow hash, and the digest is an indexed lookup), with its first
:data:`PREFIX_LEN` characters as a visible label. A key acts for its tenant with its scopes only
(:class:`~cloud.domain.auth.scopes.KeyGrant`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models_integrations import ApiKey
from cloud.domain.auth.scopes import API_KEY_ROLE, KeyGrant
from cloud.domain.auth.services import Caller
from cloud.errors import DomainError, NotFound, Unauthorized
from cloud.security import digest

API_KEY_PREFIX = "spk_"
PREFIX_LEN = len(API_KEY_PREFIX) + 8
MAX_KEYS = 100
LAST_USED_EVERY = timedelta(minutes=1)


def new_api_key() -> str:
    """A fresh API key."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_api_key(credential: str) -> bool:
    """True when ``credential`` has the shape of an API key (not a login token)."""
    return credential.startswith(API_KEY_PREFIX)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just created: the only time its plaintext exists."""

    key: str
    row: ApiKey


class ApiKeyService:
    """API keys of a tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, caller: Caller, name: str, scopes: Sequence[str]) -> IssuedKey:
        """A new key for the caller's tenant (the caller must be a user, checked by the route)."""
        count = len(await self.list(caller.tenant_id))
        if count >= MAX_KEYS:
            raise DomainError(409, "too_many_api_keys", f"a tenant has at most {MAX_KEYS} API keys")
        key = new_api_key()
        row = ApiKey(
            tenant_id=caller.tenant_id,
            name=name.strip() or "integration",
            prefix=key[:PREFIX_LEN],
            key_hash=digest(key),
            scopes=sorted(set(scopes)),
            created_by=caller.user_id,
        )
        self.session.add(row)
        await self.session.commit()
        return IssuedKey(key=key, row=row)

    async def list(self, tenant_id: uuid.UUID) -> Sequence[ApiKey]:
        """The tenant's keys, revoked ones included, newest first."""
        query = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
        return (await self.session.scalars(query.order_by(ApiKey.created_at.desc(), ApiKey.id))).all()

    async def get(self, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
        """One key of the tenant (404 otherwise)."""
        row = await self.session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id)
        )
        if row is None:
            raise NotFound("API key")
        return row

    async def revoke(self, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
        """Revoke a key: every request with it is 401 from now on (revoking twice is harmless)."""
        row = await self.get(tenant_id, key_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await self.session.commit()
        return row

    async def authenticate(self, key: str) -> tuple[Caller, KeyGrant]:
        """The caller ``key`` stands for and what it grants; 401 ``invalid_api_key`` if unknown or revoked."""
        row = await self.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key)))
        if row is None:
            raise Unauthorized("invalid_api_key", "unknown API key")
        if row.revoked_at is not None:
            raise Unauthorized("invalid_api_key", "API key revoked")
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            await self.session.execute(
                update(ApiKey)
                .where(ApiKey.id == row.id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
            await self.session.commit()
        caller = Caller(user_id=row.created_by, tenant_id=row.tenant_id, role=API_KEY_ROLE, token_id=row.id)
        return caller, KeyGrant(api_key_id=row.id, scopes=frozenset(row.scopes))
