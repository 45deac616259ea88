"""Queueing a webhook event in the caller's transaction (the delivery worker sends it later)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def emit(session: AsyncSession, tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """Queue ``event_type`` with ``data`` for every active endpoint of the tenant subscribed to it.

    Runs in the caller's transaction, so the event exists exactly when the change that caused
    it is committed.
    """
    del session, tenant_id, event_type, data  # filled in by the webhooks work in progress
