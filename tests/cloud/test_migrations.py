"""Migrations apply on an empty database, twice without harm, and from the console script."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from cloud.cli import main
from cloud.db.base import Base
from cloud.db.engine import make_engine
from cloud.db.migrate import alembic_config, current_revision, upgrade

# Every table the models declare; the newest revision is the head of the script directory.
TABLES = set(Base.metadata.tables) | {"alembic_version"}
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def _tables(url: str) -> set[str]:
    def names(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(names)
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table(db_url: str) -> None:
    assert await current_revision(db_url) is None
    await upgrade(db_url)
    assert await current_revision(db_url) == HEAD
    assert await _tables(db_url) >= TABLES
    await upgrade(db_url)  # already at head: nothing to do
    assert await current_revision(db_url) == HEAD


async def test_the_migrations_build_exactly_what_the_models_declare(db_url: str) -> None:
    """A column or index added to a model without a revision (or the other way round) fails here."""
    await upgrade(db_url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))

    engine = make_engine(db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_cli_migrate_and_create_tenant_and_user(db_url: str, capsys: object) -> None:
    assert await asyncio.to_thread(main, ["--db-url", db_url, "migrate"]) == 0
    assert await current_revision(db_url) == HEAD
    assert await asyncio.to_thread(main, ["--db-url", db_url, "create-tenant", "Café Blau"]) == 0
    status = await asyncio.to_thread(
        main,
        [
            "--db-url",
            db_url,
            "create-user",
            "--tenant",
            "Café Blau",
            "--email",
            "Owner@Blau.example",
            "--password",
            "long enough password",
            "--role",
            "owner",
        ],
    )
    assert status == 0
    again = await asyncio.to_thread(
        main,
        [
            "--db-url",
            db_url,
            "create-user",
            "--tenant",
            "Café Blau",
            "--email",
            "owner@blau.example",
            "--password",
            "long enough password",
            "--role",
            "admin",
        ],
    )
    assert again == 1  # the email is taken, whatever its case
