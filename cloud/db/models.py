"""The cloud's tables: tenants, their stores, hubs and the devices hubs report, users, tokens.

Every row a tenant owns carries ``tenant_id`` (devices reach it through their hub), and every
query the API runs filters on the caller's tenant. Secrets are never stored: claim codes and
API tokens as SHA-256 digests (they are long random strings), passwords as argon2 hashes,
broker passwords in Mosquitto's PBKDF2-SHA512 format so the password file can be written
without the plaintext.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.db.base import Base, UTCDateTime

POS_MODES = ("retail", "restaurant", "both")
ROLES = ("owner", "admin", "manager")
HUB_STATUSES = ("pending", "active", "revoked")
JOB_KINDS = ("test_print", "open_drawer", "x_report", "restart_device", "diagnostics", "resync")
JOB_STATES = ("QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED")
DEVICE_KINDS = (
    "printer",
    "cash_drawer",
    "fiscal_printer",
    "scale",
    "payment_terminal",
    "line_display",
    "scanner",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Tenant(Base):
    """A business: the unit of isolation."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200), nullable=False)


class Store(Base):
    """One shop of a tenant, with its address, POS mode, currency and regional settings."""

    __tablename__ = "stores"
    __table_args__ = (CheckConstraint(_in("pos_mode", POS_MODES), name="pos_mode"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address_line1: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    address_line2: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    postal_code: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    city: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    pos_mode: Mapped[str] = mapped_column(String(20), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    locale: Mapped[str] = mapped_column(String(35), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Hub(Base):
    """The box in a store. ``pending`` until claimed with its one-time code, then ``active``.

    Presence fields (``online``, ``last_seen_at``, versions) are written by the sync bridge
    from what the hub reports.
    """

    __tablename__ = "hubs"
    __table_args__ = (CheckConstraint(_in("status", HUB_STATUSES), name="status"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    claim_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    claim_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    broker_username: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    broker_password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    session: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    software_version: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    applied_config_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The last configuration version the hub refused (it keeps the one applied) and why.
    rejected_config_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    config_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # What the hub last reported: facts in its outbox not yet acknowledged.
    backlog: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Every fact up to this seq is stored (events or dead letters): the acknowledged position.
    ingested_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    devices: Mapped[list[Device]] = relationship(
        back_populates="hub", cascade="all, delete-orphan", order_by="Device.device_id"
    )


class Device(Base):
    """A device as its hub last reported it."""

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("hub_id", "device_id", name="uq_devices_hub_device"),
        CheckConstraint(_in("kind", DEVICE_KINDS), name="kind"),
    )

    hub_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("hubs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    device_id: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="offline")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    hub: Mapped[Hub] = relationship(back_populates="devices")


class User(Base):
    """A person who administers a tenant in the console."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ApiToken(Base):
    """A bearer token of a user: a login session or a named key for an integration."""

    __tablename__ = "api_tokens"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="login")
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Event(Base):
    """A fact a hub recorded, stored exactly once: ``id`` is the hub's event id (UUIDv7).

    ``payload`` is kept verbatim as the hub sent it (the evidence of what happened); it was
    decoded into its typed struct before it was stored, so every row here is readable.
    Projections for reports are derived from these rows.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("hub_id", "seq", name="uq_events_hub_seq"),
        Index("ix_events_tenant_type_occurred", "tenant_id", "type", "occurred_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hubs.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class DeadLetter(Base):
    """A message the cloud could not take: kept with the reason, never silently dropped.

    ``hub_id`` and ``seq`` are set when they could be read, so a rejected fact still counts
    as handled in the hub's sequence (the hub is not asked for it forever) and support can
    find what the hub sent.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_hub_seq", "hub_id", "seq"),)

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    hub_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    topic: Mapped[str] = mapped_column(String(400), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class RemoteJob(Base):
    """A command for a hub, QUEUED until the hub runs it, then final.

    ``expires_at`` bounds how long a job waits for an offline hub; ``timeout_s`` how long it
    may stay IN_PROGRESS. ``sent_session`` is the hub connection it was last sent on, so a job
    is sent again when the hub reconnects (the hub runs each job id at most once).
    """

    __tablename__ = "remote_jobs"
    __table_args__ = (
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        Index("ix_remote_jobs_hub_state", "hub_id", "state"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hubs.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="QUEUED")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    timeout_s: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_session: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# The other table modules register on the same metadata (migrations and create_all see them).
from cloud.db import models_config, models_integrations, models_reports  # noqa: E402, F401
