"""The aiohttp application: routes, error envelope, body limit, OpenAPI."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.context import HubServices
from hub.api.errors import error_middleware
from hub.api.events_ws import events_websocket
from hub.api.openapi import build_openapi
from hub.api.routes_audit import router as audit_router
from hub.api.routes_catalog import router as catalog_router
from hub.api.routes_config import router as config_router
from hub.api.routes_customers import router as customers_router
from hub.api.routes_devices import router as devices_router
from hub.api.routes_email import router as email_router
from hub.api.routes_infocodes import router as infocodes_router
from hub.api.routes_logs import release_log_waiters
from hub.api.routes_logs import router as logs_router
from hub.api.routes_payments import router as payments_router
from hub.api.routes_printing import router as printing_router
from hub.api.routes_products import router as products_router
from hub.api.routes_sales import router as sales_router
from hub.api.routes_shifts import router as shifts_router
from hub.api.routes_staff import router as staff_router
from hub.api.routes_sync import router as sync_router
from hub.api.routes_system import openapi_handler
from hub.api.routes_system import router as system_router
from hub.api.routes_targets import router as targets_router
from hub.api.routing import SERVICES, Route, Router, authenticate

WEBSOCKET_DOC: dict[str, Any] = {
    "/api/v1/events": {
        "get": {
            "operationId": "events_websocket",
            "summary": "Websocket of hub events with bounded replay",
            "description": (
                "Upgrade to a websocket. Messages are JSON {id, type, at, data}; reconnect with "
                "?last_id=N (or Last-Event-ID) to receive what was missed. The token may be given as "
                "?token= because browsers cannot set headers on a websocket."
            ),
            "security": [{"bearer": []}],
            "parameters": [
                {
                    "name": "last_id",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0},
                },
                {"name": "token", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "101": {"description": "Switching to the websocket protocol"},
                "401": {"description": "No token"},
            },
        }
    }
}


ROUTERS: list[Router] = [
    system_router,
    audit_router,
    printing_router,
    devices_router,
    payments_router,
    catalog_router,
    products_router,
    customers_router,
    sales_router,
    email_router,
    staff_router,
    shifts_router,
    infocodes_router,
    sync_router,
    targets_router,
    config_router,
    logs_router,
]


def all_routes() -> list[Route]:
    return [route for router in ROUTERS for route in router.routes]


def build_app(services: HubServices) -> web.Application:
    app = web.Application(client_max_size=services.config.api.max_body_bytes, middlewares=[error_middleware])
    app[SERVICES] = services
    app.on_shutdown.append(release_log_waiters)
    for router in ROUTERS:
        router.install(app)
    document = build_openapi(all_routes(), websocket_doc=WEBSOCKET_DOC)

    async def openapi(request: web.Request) -> web.StreamResponse:
        """The OpenAPI 3.1 document of this API."""
        await authenticate(request, "device")
        return openapi_handler(document)

    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/events", events_websocket)
    return app
