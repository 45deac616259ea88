"""``smartpos-cloud``: serve, migrate, create-tenant, create-user."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.broker.mosquitto import BrokerFilesError, MosquittoFiles
from cloud.db.engine import make_engine, make_session_factory
from cloud.db.migrate import upgrade
from cloud.db.models import POS_MODES, ROLES
from cloud.domain.hubs.services import HubService
from cloud.domain.stores.schemas import StoreCreate
from cloud.domain.stores.services import StoreService
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
    sub.add_parser(
        "bridge",
        help="run only the MQTT bridge (when the API runs elsewhere); needs SMARTPOS_CLOUD_BROKER_URL",
    )
    sub.add_parser(
        "broker-files",
        help="write Mosquitto's password and ACL files from the hubs table now (and reload the broker)",
    )
    tenant = sub.add_parser("create-tenant", help="add a tenant (business); prints its id")
    tenant.add_argument("name")
    user = sub.add_parser("create-user", help="add a user to a tenant; prints its id")
    user.add_argument("--tenant", required=True, help="tenant id or exact name")
    user.add_argument("--email", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--name", default="")
    store = sub.add_parser("create-store", help="add a store to a tenant; prints its id")
    store.add_argument("--tenant", required=True, help="tenant id or exact name")
    store.add_argument("--name", required=True)
    store.add_argument("--country", required=True, help="ISO 3166 code, e.g. DE")
    store.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    store.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/Berlin")
    store.add_argument("--locale", required=True, help="e.g. de-DE")
    store.add_argument("--pos-mode", default="retail", choices=POS_MODES)
    store.add_argument("--address", default="", help="street and number")
    store.add_argument("--postal-code", default="")
    store.add_argument("--city", default="")
    hub = sub.add_parser("add-hub", help="add a hub to a store; prints its one-time claim code")
    hub.add_argument("--tenant", required=True, help="tenant id or exact name")
    hub.add_argument("--store", required=True, type=uuid.UUID, help="store id")
    hub.add_argument("--name", required=True)
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
        elif args.command == "bridge":
            return asyncio.run(_bridge(settings))
        elif args.command == "broker-files":
            return _broker_files(settings)
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
        elif args.command == "create-store":
            print(asyncio.run(_with_session(settings, lambda session: _create_store(session, args))))
        elif args.command == "add-hub":
            print(asyncio.run(_with_session(settings, lambda session: _add_hub(session, settings, args))))
    except msgspec.ValidationError as exc:
        print(f"smartpos-cloud: invalid: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"smartpos-cloud: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    return 0


async def _create_store(session: AsyncSession, args: argparse.Namespace) -> str:
    tenant = await TenantService(session).find(args.tenant)
    data = msgspec.convert(
        {
            "name": args.name,
            "address": {"country": args.country, "line1": args.address, "postal_code": args.postal_code,
                        "city": args.city},
            "pos_mode": args.pos_mode,
            "currency": args.currency,
            "timezone": args.timezone,
            "regional": {"locale": args.locale},
        },
        StoreCreate,
    )  # fmt: skip
    store = await StoreService(session).create(tenant.id, data)
    return str(store.id)


async def _add_hub(session: AsyncSession, settings: Settings, args: argparse.Namespace) -> str:
    tenant = await TenantService(session).find(args.tenant)
    issued = await HubService(session, settings).create(tenant.id, args.store, args.name)
    return issued.code


def _broker_files(settings: Settings) -> int:
    """Write the files before the broker first starts (it refuses to start without them)."""
    files = MosquittoFiles(settings)
    if not files.enabled:
        print("smartpos-cloud: set SMARTPOS_CLOUD_MOSQUITTO_PASSWORD_FILE and _ACL_FILE", file=sys.stderr)
        return 2
    if not settings.bridge_password:
        print(
            "smartpos-cloud: set SMARTPOS_CLOUD_BRIDGE_PASSWORD (the bridge's broker account)",
            file=sys.stderr,
        )
        return 2

    async def write(session: AsyncSession) -> str:
        changed = await files.sync(session)
        return f"{'wrote' if changed else 'unchanged:'} {files.password_file} and {files.acl_file}"

    try:
        print(asyncio.run(_with_session(settings, write)))
    except BrokerFilesError as exc:
        print(f"smartpos-cloud: {exc}", file=sys.stderr)
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


async def _bridge(settings: Settings) -> int:
    import signal

    from cloud.sync.bridge import SyncBridge

    if not settings.broker_url:
        print("smartpos-cloud: bridge needs SMARTPOS_CLOUD_BROKER_URL", file=sys.stderr)
        return 2
    engine = make_engine(settings.db_url)
    bridge = SyncBridge(settings, make_session_factory(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bridge.start()
    try:
        await stop.wait()
    finally:
        await bridge.stop()
        await engine.dispose()
    return 0
