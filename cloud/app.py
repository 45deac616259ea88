"""The cloud's Litestar application: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from cloud.broker.mosquitto import BrokerHubService
from cloud.db.engine import make_engine, make_session_factory
from cloud.deps import provide_caller, provide_db_session, provide_settings
from cloud.domain.apikeys.controllers import ApiKeyController
from cloud.domain.auth.controllers import AuthController
from cloud.domain.auth.middleware import TokenAuthMiddleware
from cloud.domain.config.controllers import ConfigController, HubConfigController, StoreConfigController
from cloud.domain.config.delta_cache import DeltaCache
from cloud.domain.fleet.controllers import FleetController
from cloud.domain.hubs.controllers import HubController
from cloud.domain.hubs.services import HubService
from cloud.domain.jobs.controllers import JobController
from cloud.domain.reports.controllers import ReportController
from cloud.domain.stores.controllers import StoreController
from cloud.domain.tenants.controllers import TenantController
from cloud.domain.users.controllers import UserController
from cloud.domain.webhooks.controllers import WebhookController
from cloud.domain.webhooks.delivery import DeliveryPolicy, DeliveryWorker
from cloud.domain.webhooks.sealing import secret_box
from cloud.errors import EXCEPTION_HANDLERS
from cloud.settings import Settings
from cloud.sync.bridge import SyncBridge
from cloud.web.controllers import FleetPageController


def create_app(
    settings: Settings | None = None,
    *,
    hub_service: type[HubService] | None = None,
    bridge: bool = True,
    webhooks: DeliveryPolicy | None = None,
) -> Litestar:
    """Build the app for ``settings`` (from the environment when None).

    ``hub_service`` is the class the hub routes use; by default it is
    :class:`BrokerHubService` (which rewrites the broker's files on every claim and
    revocation) when the cloud manages Mosquitto's files, else :class:`HubService`.
    With a broker URL configured and ``bridge`` true, the MQTT bridge runs in this process.
    The webhook delivery worker always does, with ``webhooks`` as its policy (timing, retries;
    from the settings when None).
    The database is migrated separately (``smartpos-cloud migrate``).
    """
    settings = settings or Settings.from_env()
    manages_broker = bool(settings.mosquitto_password_file and settings.mosquitto_acl_file)
    service_class = hub_service or (BrokerHubService if manages_broker else HubService)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.bridge = None
        policy = webhooks or DeliveryPolicy(
            backoff_s=settings.webhook_backoff_s, allow_private_networks=settings.webhook_allow_private
        )
        app.state.webhooks = DeliveryWorker(app.state.session_factory, policy, secrets=secret_box(settings))
        await app.state.webhooks.start()
        try:
            if bridge and settings.broker_url:
                app.state.bridge = SyncBridge(settings, app.state.session_factory)
                await app.state.bridge.start()
            yield
        finally:
            if app.state.bridge is not None:
                await app.state.bridge.stop()
            await app.state.webhooks.stop()
            await engine.dispose()

    def provide_hub_service() -> type[HubService]:
        return service_class

    auth = DefineMiddleware(TokenAuthMiddleware, exclude=["^/schema"])
    return Litestar(
        route_handlers=[
            AuthController,
            TenantController,
            StoreController,
            HubController,
            UserController,
            FleetController,
            JobController,
            ReportController,
            ConfigController,
            StoreConfigController,
            HubConfigController,
            WebhookController,
            ApiKeyController,
            FleetPageController,
        ],
        lifespan=[database],
        state=State({"settings": settings, "delta_cache": DeltaCache()}),
        dependencies={
            "db_session": Provide(provide_db_session),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
            "hub_service_factory": Provide(provide_hub_service, sync_to_thread=False),
        },
        middleware=[auth],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="SmartPOS cloud",
            version="1.0.0",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer"),
                    "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                }
            ),
            security=[{"bearer": []}, {"apiKey": []}],
        ),
        debug=settings.debug,
    )
