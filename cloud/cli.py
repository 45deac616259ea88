"""``smartpos-cloud``: serve, migrate, create-tenant, create-user."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

from cloud.db.engine import make_engine, make_session_factory
from cloud.db.migrate import upgrade
from cloud.db.models import ROLES
from cloud.domain.tenants.services import TenantService
from cloud.domain.users.services import UserService
from cloud.errors import DomainError
from cloud.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartpos-cloud", description="The SmartPOS cloud service.")
    parser.add_argument(
        "--db-url", help="database URL (default: $SMARTPOS_CLOUD_DB_URL or SQLite ./cloud.db)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="listen address (default: $SMARTPOS_CLOUD_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default: $SMARTPOS_CLOUD_PORT or 8600)")
    serve.add_argument("--migrate", action="store_true", help="upgrade the database first")
    sub.add_parser("migrate", help="upgrade the database to the newest revision")
    tenant = sub.add_parser("create-tenant", help="add a tenant (business); prints its id")
    tenant.add_argument("name")
    user = sub.add_parser("create-user", help="add a user to a tenant; prints its id")
    user.add_argument("--tenant", required=True, help="tenant id or exact name")
    user.add_argument("--email", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--name", default="")
    return parser


async def _with_session(settings: Settings, work: Callable[..., Awaitable[str]]) -> str:
    engine = make_engine(settings.db_url)
    try:
        async with make_session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"smartpos-cloud: {exc}", file=sys.stderr)
        return 2
    if args.db_url:
        settings = Settings(**{**_fields(settings), "db_url": args.db_url})
    try:
        if args.command == "migrate":
            asyncio.run(upgrade(settings.db_url))
            print("database is at the newest revision")
        elif args.command == "serve":
            return _serve(settings, args.host, args.port, args.migrate)
        elif args.command == "create-tenant":

            async def create_tenant(session: object) -> str:
                tenant = await TenantService(session).create(args.name)  # type: ignore[arg-type]
                return str(tenant.id)

            print(asyncio.run(_with_session(settings, create_tenant)))
        elif args.command == "create-user":

            async def create_user(session: object) -> str:
                tenant = await TenantService(session).find(args.tenant)  # type: ignore[arg-type]
                user = await UserService(session).create(  # type: ignore[arg-type]
                    tenant.id, email=args.email, password=args.password, role=args.role, name=args.name
                )
                return str(user.id)

            print(asyncio.run(_with_session(settings, create_user)))
    except DomainError as exc:
        print(f"smartpos-cloud: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _fields(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


def _serve(settings: Settings, host: str | None, port: int | None, migrate: bool) -> int:
    import uvicorn

    from cloud.app import create_app

    if migrate:
        asyncio.run(upgrade(settings.db_url))
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)
    return 0
