"""Wire types of the auth context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloud.domain.users.schemas import UserRead


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Email and password."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoginResponse(msgspec.Struct):
    """A bearer token for the ``Authorization`` header, and who it belongs to."""

    token: str
    expires_at: datetime | None
    user: UserRead
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
