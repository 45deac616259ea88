"""What a request handler can reach: the hub's services and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.api.errors import ApiError
from hub.config import HubConfig
from hub.db.database import Database
from hub.devices.discovery import Discovery
from hub.devices.manager import DeviceManager
from hub.domain.auth import AuthService, Principal
from hub.domain.catalog.csv_service import CsvService
from hub.domain.catalog.service import CatalogService
from hub.domain.email_outbox import EmailOutbox
from hub.domain.events import EventLog
from hub.domain.infocodes.service import Infocodes
from hub.domain.payments.service import CardPaymentsService
from hub.domain.permissions import EVERYTHING
from hub.domain.print_jobs import PrintJobs
from hub.domain.reports.day_close import DayClose
from hub.domain.reports.quick import QuickReports
from hub.domain.sales import SalesModule
from hub.domain.shifts.cash import CashDesk
from hub.domain.shifts.service import ShiftService
from hub.domain.staff.service import StaffService, StaffSession
from hub.domain.staff.terminals import TerminalService
from hub.domain.targets import SalesTargets
from hub.sync.service import SyncService
from hub.sync.supervisor import SyncSupervisor


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
    staff: StaffService
    terminals: TerminalService
    shifts: ShiftService
    cash: CashDesk
    day_close: DayClose
    quick_reports: QuickReports
    infocodes: Infocodes
    targets: SalesTargets
    email: EmailOutbox
    hub_id: str
    started_at: str
    started_monotonic: float
    sync: SyncService | None = None  # the running link, kept current by sync_supervisor
    sync_supervisor: SyncSupervisor | None = None
    discovery: Discovery | None = None  # None when [discovery] is off
    card_payments: CardPaymentsService | None = None

    def set_sync(self, service: SyncService | None) -> None:
        """The supervisor started (or stopped) a cloud link."""
        self.sync = service


@dataclass
class RequestContext:
    request: web.Request
    services: HubServices
    principal: Principal | None
    query: Any = field(default=None)
    staff: StaffSession | None = None

    @property
    def actor(self) -> str:
        """Who the audit log and documents name: the logged-in employee, else the token."""
        if self.staff is not None:
            return self.staff.actor
        return self.principal.actor if self.principal else "anonymous"

    async def permissions(self) -> frozenset[str]:
        if self.principal is not None and self.principal.role == "admin":
            return EVERYTHING
        if self.staff is not None:
            return self.staff.permissions
        return await self.services.staff.setup_permissions()

    async def require(self, permission: str) -> frozenset[str]:
        """The caller's permissions; a 403 naming ``permission`` when it is not among them."""
        granted = await self.permissions()
        if permission not in granted:
            if (
                self.staff is None
                and self.principal is not None
                and self.principal.role != "admin"
                and await self.services.staff.has_employees()
            ):
                raise ApiError(
                    401,
                    "staff_login_required",
                    "log in on this terminal first (X-Staff-Session)",
                    {"permission": permission},
                )
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
