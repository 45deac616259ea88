"""Wire types of the API keys context."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from cloud.db.models_integrations import ApiKey
from cloud.domain.auth.scopes import Scope


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A name for people and the scopes the key grants."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=20)]


class ApiKeyRead(msgspec.Struct):
    """A key as lists show it: its visible prefix, never the key or its hash."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyRead:
        """From a row."""
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyIssued(msgspec.Struct):
    """A key just created: ``key`` is shown this once and cannot be read again."""

    api_key: ApiKeyRead
    key: str
