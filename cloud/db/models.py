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
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.db.base import Base, UTCDateTime

POS_MODES = ("retail", "restaurant", "both")
ROLES = ("owner", "admin", "manager")
HUB_STATUSES = ("pending", "active", "revoked")
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
