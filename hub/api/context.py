"""What a request handler can reach: the hub's services and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.api.errors import ApiError
from hub.config import HubConfig
from hub.db.database import Database
from hub.devices.manager import DeviceManager
from hub.domain.auth import AuthService, Principal
from hub.domain.catalog.csv_service import CsvService
from hub.domain.catalog.service import CatalogService
from hub.domain.email_outbox import EmailOutbox
from hub.domain.events import EventLog
from hub.domain.permissions import permissions_for
from hub.domain.print_jobs import PrintJobs
from hub.domain.sales import SalesModule


@dataclass
class HubServices:
    """The running hub's parts, shared by every handler."""

    config: HubConfig
    db: Database
    events: EventLog
    auth: AuthService
    jobs: PrintJobs
    devices: DeviceManager
    catalog: CatalogService
    catalog_csv: CsvService
    sales: SalesModule
    email: EmailOutbox
    hub_id: str
    started_at: str
    started_monotonic: float


@dataclass
class RequestContext:
    request: web.Request
    services: HubServices
    principal: Principal | None
    query: Any = field(default=None)

    @property
    def actor(self) -> str:
        return self.principal.actor if self.principal else "anonymous"

    def require(self, permission: str) -> frozenset[str]:
        """The caller's permissions; a 403 naming ``permission`` when it is not among them."""
        granted = permissions_for(self.principal)
        if permission not in granted:
            raise ApiError(
                403,
                "permission_denied",
                f"this needs the {permission} permission",
                {"permission": permission},
            )
        return granted

    def path_int(self, name: str) -> int:
        value = self.request.match_info[name]
        if not value.isdigit() or len(value) > 18:
            raise ApiError(404, "not_found", f"{name} must be a positive integer, got {value!r}")
        return int(value)
