"""Wire types of the users context."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloud.db.models import User

Role = Literal["owner", "admin", "manager"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new user of the caller's tenant."""

    email: Email
    password: Password
    role: Role
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class UserRead(msgspec.Struct):
    """A user as the API shows it (never the password hash)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    role: str
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        """From a row."""
        return cls(
            id=user.id,
            tenant_id=user.tenant_id,
            email=user.email,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
            created_at=user.created_at,
        )
