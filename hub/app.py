"""The hub daemon: opens storage, starts the devices, serves the API, announces itself.

Start-up order matters: storage first (integrity check, migrations), then interrupted jobs are
recovered and device tasks started, then the API listens, then systemd hears READY. Shutdown on
SIGTERM runs the other way: stop taking requests, let each device finish the write in flight,
close devices, close storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid

import msgspec
from aiohttp import web

from hub import __version__
from hub.api.app import build_app
from hub.api.context import HubServices
from hub.api.routes_erpnet import ErpNetContext, build_erpnet_app
from hub.cloud_link import read_link
from hub.config import ConfigError, HubConfig, SyncSection
from hub.db.database import Database
from hub.devices.adoption import AdoptedDevices
from hub.devices.discovery import Discovery, build_backends
from hub.devices.display_feed import DisplayFeed
from hub.devices.email_relay import EmailRelay
from hub.devices.manager import DeviceManager
from hub.devices.registry import resolve_all
from hub.devices.signing_setup import signing_adapter
from hub.devices.signing_worker import SigningWorker
from hub.domain import outbox
from hub.domain.auth import AuthService
from hub.domain.catalog.csv_service import CsvService
from hub.domain.catalog.service import CatalogService
from hub.domain.clock import now_iso
from hub.domain.cloud_config import CloudConfig, read_state
from hub.domain.email_outbox import EmailOutbox
from hub.domain.events import EventLog
from hub.domain.fiscal.documents import FiscalDocuments
from hub.domain.fiscal.erpnet_tasks import ErpNetTasks
from hub.domain.fiscal.service import Fiscalisation, FiscalSettings
from hub.domain.infocodes.service import Infocodes
from hub.domain.payments.service import CardPaymentsService
from hub.domain.payments.store import CardPayments
from hub.domain.print_jobs import PrintJobs
from hub.domain.reports.day_close import DayClose
from hub.domain.reports.quick import QuickReports
from hub.domain.sales import build_sales
from hub.domain.sales.card_terminal import ConfirmedByCashier
from hub.domain.shifts.cash import CashDesk
from hub.domain.shifts.service import ShiftService
from hub.domain.staff.service import StaffService
from hub.domain.staff.terminals import TerminalService
from hub.domain.store_settings import StoreSettingsService
from hub.domain.targets import SalesTargets
from hub.mdns import HubAnnouncer
from hub.sdnotify import SystemdNotifier
from hub.sync.config_fetch import ConfigFetcher
from hub.sync.jobs import RemoteJobs
from hub.sync.service import SyncService
from hub.sync.supervisor import ServiceFactory, SyncSupervisor
from protocols.fiscal.receipt import FiscalResult
from protocols.sync.messages import DeviceState, ReportedState

log = logging.getLogger("hub")

DB_FILE = "hub.db"
PRUNE_EVERY_S = 600.0
AUTO_CLOSE_EVERY_S = 30.0


async def _hub_id(db: Database) -> str:
    row = await db.fetchone("SELECT value FROM meta WHERE key = 'hub_id'")
    if row is not None:
        return str(row[0])
    hub_id = str(uuid.uuid4())
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO meta (key, value) VALUES ('hub_id', ?)", (hub_id,))
    return hub_id


class Hub:
    """One running hub. ``await Hub(config).run()`` until SIGTERM/SIGINT."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.specs = resolve_all(config.devices)  # raises ConfigError before anything starts
        self.notifier = SystemdNotifier()
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        started = time.monotonic()
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        # Card terminal drivers keep their recovery journal under the data dir (ZVT keeps no ECR
        # reference, so a restarted hub decides from what it wrote before sending); they find
        # it through this variable, which already means "the data dir" to the config loader.
        os.environ.setdefault("SMARTPOS_DATA_DIR", str(config.data_dir))
        db = Database(config.data_dir / DB_FILE)
        await db.open()
        runner: web.AppRunner | None = None
        erpnet_runner: web.AppRunner | None = None
        announcer: HubAnnouncer | None = None
        manager: DeviceManager | None = None
        prune_task: asyncio.Task[None] | None = None
        relay: EmailRelay | None = None
        auto_close_task: asyncio.Task[None] | None = None
        sync: SyncSupervisor | None = None
        discovery: Discovery | None = None
        discovery_task: asyncio.Task[None] | None = None
        signing: SigningWorker | None = None
        recovery_task: asyncio.Task[object] | None = None
        feed: DisplayFeed | None = None
        try:
            events = EventLog(db, retention=config.storage.event_retention)
            auth = AuthService(db, code_ttl_s=config.api.pairing_code_ttl_s)
            await auth.install_admin_token(config.data_dir)
            jobs = PrintJobs(db, events)
            fiscal_documents = FiscalDocuments(db, events)
            manager = DeviceManager(
                self.specs, jobs, events, language=config.hub.language, adopted=AdoptedDevices(db),
                fiscal=fiscal_documents,
            )  # fmt: skip
            section = config.fiscal
            signing_adapter_ = signing_adapter(section, db)
            fiscal = Fiscalisation(
                FiscalSettings(
                    mode=section.mode,
                    device=section.device if section.mode == "device" else section.mode,
                    tax_groups=dict(section.tax_groups),
                ),
                on_queued=lambda queue: self._wake_fiscal(queue, manager, signing),
            )
            await manager.start()
            card_payments = CardPaymentsService(CardPayments(db), events, manager, ConfirmedByCashier())
            # Before anything else, payments a stop left open are settled with their terminals
            # (in the background: a terminal that is slow to connect must not hold up start-up).
            recovery_task = asyncio.create_task(card_payments.recover(), name="card-payment-recovery")
            hub_id = await _hub_id(db)
            settings = StoreSettingsService(db)
            catalog = CatalogService(db, settings)
            devices = manager.sale_devices
            infocodes = Infocodes(db)
            email = EmailOutbox(
                db, events, max_attempts=config.smtp.max_attempts, backoff_s=config.smtp.retry_delays_s
            )
            sales = build_sales(
                db,
                events,
                jobs,
                settings,
                catalog.adapter,
                devices,
                email=email if config.smtp.enabled else None,
                infocodes=infocodes,
                fiscal=fiscal,
                card=card_payments,
            )
            staff = StaffService(db)
            shifts = ShiftService(
                db, events, jobs, settings, devices, email=email if config.smtp.enabled else None,
                card_day=manager.card_end_of_day if config.payments.end_of_day_on_shift_close else None,
            )  # fmt: skip
            if config.smtp.enabled:
                relay = EmailRelay(email, config.smtp)
                await relay.start()
            services = HubServices(
                config=config,
                db=db,
                events=events,
                auth=auth,
                jobs=jobs,
                devices=manager,
                catalog=catalog,
                catalog_csv=CsvService(catalog),
                sales=sales,
                staff=staff,
                terminals=TerminalService(db),
                shifts=shifts,
                cash=CashDesk(shifts, staff),
                day_close=DayClose(db, jobs, settings, devices.printers, fiscal=fiscal),
                quick_reports=QuickReports(db, settings),
                infocodes=infocodes,
                targets=SalesTargets(db, settings),
                email=email,
                hub_id=hub_id,
                card_payments=card_payments,
                started_at=now_iso(),
                started_monotonic=started,
            )
            # The cloud's config lands in the tables these services cache: they forget on apply.
            cloud_config = CloudConfig(
                db,
                invalidate=[
                    catalog.adapter.invalidate,
                    settings.invalidate,
                    sales.checkout.tenders.invalidate,
                    staff.invalidate,
                    infocodes.invalidate,
                ],
                events=events,
            )
            if signing_adapter_ is not None:
                checkout = sales.checkout

                async def print_signed(sale_id: int, result: FiscalResult) -> None:
                    await checkout.print_signed(sale_id, result, actor="fiscal")

                signing = SigningWorker(section.mode, signing_adapter_, fiscal_documents, print_signed)
                signing.start()
            sync = SyncSupervisor(
                config,
                db,
                self._sync_factory(db, manager, services, cloud_config),
                on_change=services.set_sync,
            )
            await sync.start()
            services.sync_supervisor = sync
            feed = DisplayFeed(manager, events, sales.carts.view)
            feed.start()
            if config.discovery.enabled:
                discovery = Discovery(
                    build_backends(config, manager.owned_ports),
                    events,
                    adopted_as=manager.adopted_as,
                    on_seen=manager.wake,
                )
                services.discovery = discovery
                # Scans start in the background: the API and systemd's READY must not wait on
                # a slow bus (a serial probe, a USB tree with many hubs).
                discovery_task = asyncio.create_task(discovery.start(), name="discovery-start")
            runner = web.AppRunner(build_app(services), access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, config.api.host, config.api.port, shutdown_timeout=5.0)
            await site.start()
            if config.erpnet.enabled:
                erpnet_runner = await self._serve_erpnet(db, events, manager)
            if config.mdns.enabled:
                announcer = HubAnnouncer(
                    name=config.hub_name,
                    hub_id=hub_id,
                    port=config.api.port,
                    host=config.api.host,
                    interfaces=config.mdns.interfaces,
                )
                await announcer.start()
            prune_task = asyncio.create_task(self._prune(events), name="event-prune")
            auto_close_task = asyncio.create_task(self._auto_close(shifts), name="shift-auto-close")
            log.info(
                "hub ready",
                extra={
                    "version": __version__,
                    "hub_id": hub_id,
                    "api": f"{config.api.host}:{config.api.port}",
                    "devices": len(self.specs),
                    "startup_s": round(time.monotonic() - started, 3),
                },
            )
            self.notifier.ready(
                f"serving on {config.api.host}:{config.api.port}, {len(self.specs)} device(s)"
            )
            self.notifier.start_watchdog()
            await self._stop.wait()
        finally:
            log.info("stopping")
            self.notifier.stopping()
            if prune_task is not None:
                prune_task.cancel()
            if auto_close_task is not None:
                auto_close_task.cancel()
            if recovery_task is not None and not recovery_task.done():
                recovery_task.cancel()
            if discovery_task is not None:
                discovery_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await discovery_task
            if discovery is not None:
                await discovery.stop()
            if feed is not None:
                await feed.stop()
            if signing is not None:
                await signing.stop()
            if announcer is not None:
                await announcer.stop()
            if erpnet_runner is not None:
                await erpnet_runner.cleanup()
            if runner is not None:
                await runner.cleanup()
            if sync is not None:
                await sync.stop()
            if relay is not None:
                await relay.stop()
            if manager is not None:
                await manager.stop()
            await self.notifier.stop_watchdog()
            await db.close()
            log.info("stopped")

    async def _serve_erpnet(self, db: Database, events: EventLog, manager: DeviceManager) -> web.AppRunner:
        """The ErpNet.FP-compatible API on its own host and port (its clients carry no token)."""
        config = self.config
        rates: dict[str, str] = {}
        for rate, group in config.fiscal.tax_groups.items():
            rates.setdefault(group, rate)  # the group's first rate, for the record only
        tasks = ErpNetTasks(db, events, wake=manager.wake, tax_rates=rates)
        app = build_erpnet_app(
            ErpNetContext(tasks, manager, config.erpnet.token), max_body=config.api.max_body_bytes
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, config.erpnet.host, config.erpnet.port, shutdown_timeout=5.0).start()
        except BaseException:
            await runner.cleanup()
            raise
        log.info("ErpNet.FP API listening", extra={"api": f"{config.erpnet.host}:{config.erpnet.port}"})
        return runner

    def _sync_factory(
        self, db: Database, manager: DeviceManager, services: HubServices, cloud_config: CloudConfig
    ) -> ServiceFactory:
        """Builds the cloud link for a ``[sync]`` section: at start, and again after a claim."""

        async def build(section: SyncSection) -> SyncService:
            config = msgspec.structs.replace(self.config, sync=section)
            remote = RemoteJobs(db, manager, services.day_close, config, services.hub_id)
            # A job cut short by the previous link (restart or reload) is failed, never rerun.
            await remote.recover()
            try:
                link = await asyncio.to_thread(read_link, config.data_dir)
            except ConfigError:
                link = None  # the supervisor has logged it; a relative fetch URL then fails
            fetcher = ConfigFetcher(cloud_config, section, cloud_url=link.link.cloud if link else "")
            return SyncService(
                section,
                db,
                state=lambda: self._reported_state(manager, db),
                jobs=remote,
                config_fetcher=fetcher,
            )

        return build

    @staticmethod
    async def _reported_state(manager: DeviceManager, db: Database) -> ReportedState:
        """The reported state the cloud's fleet view shows (``up/state``)."""
        devices = [
            DeviceState(
                id=v.id,
                kind=v.kind,
                status=v.status,
                details={"conditions": list(v.conditions), "detail": v.detail},
            )
            for v in await manager.views()
        ]
        config = await read_state(db)
        return ReportedState(config_version=config.applied_version, software_version=__version__, devices=devices,
                             backlog=await outbox.backlog(db), at=now_iso(),
                             rejected_config_version=config.rejected_version, config_error=config.error)  # fmt: skip

    @staticmethod
    def _wake_fiscal(queue: str, manager: DeviceManager, signing: SigningWorker | None) -> None:
        """A fiscal document was committed for ``queue``: wake whoever drains it."""
        manager.wake(queue)
        if signing is not None:
            signing.wake(queue)

    async def _auto_close(self, shifts: ShiftService) -> None:
        """Close shifts still open at 23:59 store time (checked twice a minute)."""
        while True:
            try:
                closed = await shifts.auto_close_due()
                if closed:
                    log.warning("shifts closed automatically at 23:59", extra={"shifts": closed})
            except Exception:
                log.exception("auto-close failed; retrying")
            await asyncio.sleep(AUTO_CLOSE_EVERY_S)

    async def _prune(self, events: EventLog) -> None:
        while True:
            try:
                await events.prune()
            except Exception:
                log.exception("event pruning failed")
            await asyncio.sleep(PRUNE_EVERY_S)
