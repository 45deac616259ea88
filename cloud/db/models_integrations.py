"""Cloud tables: outgoing webhooks, their delivery log, and API keys.

A webhook endpoint's signing secret cannot be hashed: the delivery worker must read it to
compute each HMAC signature. So it is **sealed** (AES-256-GCM under the cloud's key-encryption
key, bound to the endpoint's id: :mod:`cloud.domain.webhooks.sealing`); rows from before hold it
in clear until the worker seals them. It is shown to the admin only once (at creation and at
rotation) and never returned by reads. API keys, on the contrary, are only ever compared, so only their SHA-256 digest is kept, with a short visible
prefix that lets people tell keys apart.

A delivery is a row, created in the transaction that records its cause, so it survives a
restart of the cloud; ``(endpoint_id, event_id)`` is unique, so one event reaches one endpoint
through one delivery however often the cause is replayed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UTCDateTime

DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    """A URL of a tenant that receives the event types it subscribed to.

    ``active`` false stops new deliveries and pauses pending ones (they resume when the
    endpoint is enabled again). The worker clears it itself after too many consecutive failed
    attempts and says why in ``disabled_reason``.
    """

    __tablename__ = "webhook_endpoints"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # ``v1:<nonce>:<ciphertext>`` (108 characters for a whsec_ secret), or a legacy plain secret.
    secret: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Failed attempts in a row (any delivery), and when that run of failures began.
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookDelivery(Base):
    """One event for one endpoint, with its attempts: the delivery log.

    ``body`` is the exact JSON that is posted and signed. The worker claims a due row by
    moving ``next_attempt_at`` past the attempt's lease with a conditional UPDATE and a fresh
    ``claim_token``; a worker that dies mid-attempt leaves the row due again when the lease ends.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(Base):
    """A key for an integration: bound to its tenant and limited to its scopes.

    Only ``key_hash`` (SHA-256 of the whole key) identifies it; ``prefix`` is the first
    characters of the key, shown in lists. ``created_by`` is the admin who made it, and the one
    whose name a key's actions carry (e.g. a job's ``created_by``).
    """

    __tablename__ = "api_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prefix: Mapped[str] = mapped_column(String(20), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_by: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
