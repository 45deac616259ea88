"""Cloud fixtures: every test runs on SQLite (a temp file) and on the machine's PostgreSQL.

PostgreSQL is at ``SMARTPOS_TEST_PG_URL`` (default ``postgres@127.0.0.1:5432/test``); each
test gets a database of its own, created from there and dropped afterwards. If the server
cannot be reached the PostgreSQL half of the suite fails: it is never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from cloud.app import create_app
from cloud.db.engine import make_engine, make_session_factory
from cloud.db.migrate import upgrade
from cloud.domain.tenants.services import TenantService
from cloud.domain.users.services import UserService
from cloud.settings import Settings
from tests.cloud.stack_support import stack, stack_on_each_db

__all__ = ["stack", "stack_on_each_db"]  # the end-to-end fixture: broker, cloud process and a claimed hub

PG_URL = os.environ.get("SMARTPOS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
        return
    name = f"smartpos_cloud_test_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        await admin.dispose()
        pytest.fail(f"PostgreSQL at {PG_URL} is required for the cloud suite and failed: {exc!r}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class Tenancy:
    """One tenant with an admin who is logged in."""

    tenant_id: uuid.UUID
    admin_email: str
    headers: dict[str, str]
    stores: list[str] = field(default_factory=list)


@dataclass
class Cloud:
    """A migrated database, the app on it, and helpers to seed and log in."""

    url: str
    settings: Settings
    app: Litestar
    client: AsyncTestClient[Litestar]
    sessions: async_sessionmaker[AsyncSession]

    async def tenant(self, name: str) -> uuid.UUID:
        """A new tenant's id."""
        async with self.sessions() as session:
            return (await TenantService(session).create(name)).id

    async def user(self, tenant_id: uuid.UUID, email: str, role: str = "admin") -> uuid.UUID:
        """A new user with :data:`PASSWORD`."""
        async with self.sessions() as session:
            user = await UserService(session).create(tenant_id, email=email, password=PASSWORD, role=role)
            return user.id

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        """Authorization headers for ``email``."""
        response = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    async def tenancy(self, name: str) -> Tenancy:
        """A tenant with a logged-in admin and one store."""
        tenant_id = await self.tenant(name)
        email = f"admin@{name.lower()}.example"
        await self.user(tenant_id, email)
        tenancy = Tenancy(tenant_id=tenant_id, admin_email=email, headers=await self.login(email))
        store = await self.client.post(
            "/api/v1/stores", json=store_body(f"{name} Main"), headers=tenancy.headers
        )
        assert store.status_code == 201, store.text
        tenancy.stores.append(store.json()["id"])
        return tenancy


def store_body(name: str, **changes: Any) -> dict[str, Any]:
    """A valid store creation body."""
    body: dict[str, Any] = {
        "name": name,
        "address": {"country": "DE", "line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin"},
        "pos_mode": "restaurant",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "regional": {"locale": "de-DE", "prices_include_tax": True},
    }
    body.update(changes)
    return body


@pytest.fixture
async def cloud(db_url: str) -> AsyncIterator[Cloud]:
    """The cloud app on a freshly migrated database."""
    await upgrade(db_url)
    settings = Settings(db_url=db_url)
    app = create_app(settings)
    engine = make_engine(db_url)
    try:
        async with AsyncTestClient(app=app) as client:
            yield Cloud(db_url, settings, app, client, make_session_factory(engine))
    finally:
        await engine.dispose()
