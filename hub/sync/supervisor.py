"""The daemon's cloud link across claims: starts the sync service, and restarts it with new
settings when ``smartpos-hub claim`` has written a new link file (``POST /api/v1/sync/reload``).

A reload re-reads ``<data_dir>/cloud-link.toml`` and lays it over the ``[sync]`` settings the
daemon runs with (the link wins for the keys it holds; a claim writes all of the hub's identity
and credentials, so nothing of an older link survives). The old service is stopped before the
new one starts: two links with one outbox would relay the same facts twice. A bad or missing
link file is refused and the running link is left as it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec

from hub.cloud_link import LinkInfo, link_path, merge_sync, read_link
from hub.config import ConfigError, HubConfig, SyncSection
from hub.db.database import Database
from hub.domain import outbox
from hub.domain.cloud_config import read_state
from hub.domain.errors import Conflict, Invalid
from hub.sync.service import SyncService, SyncStatus

log = logging.getLogger(__name__)

ServiceFactory = Callable[[SyncSection], Awaitable[SyncService]]
NOT_CLAIMED = "not claimed: the [sync] section is disabled (smartpos-hub claim CODE --cloud URL)"


class SyncSupervisor:
    """Owns the running :class:`SyncService` (if sync is enabled) and replaces it on :meth:`reload`.

    ``factory`` builds a service for a ``[sync]`` section (the app wires in the database, the
    reported state and remote jobs); ``on_change`` hears of each new service, or None.
    """

    def __init__(
        self,
        config: HubConfig,
        db: Database,
        factory: ServiceFactory,
        *,
        on_change: Callable[[SyncService | None], None] | None = None,
    ) -> None:
        self.config = config
        self.service: SyncService | None = None
        self.info: LinkInfo | None = None
        self._db = db
        self._factory = factory
        self._on_change = on_change
        self._lock = asyncio.Lock()

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    async def start(self) -> None:
        """Start the link if ``[sync]`` is enabled (the config already holds the link file)."""
        try:
            link = await asyncio.to_thread(read_link, self.data_dir)
        except ConfigError as exc:
            # The daemon was given a config without the overlay; the settings it has still apply.
            log.warning("cloud link file unreadable", extra={"error": str(exc)})
            link = None
        self.info = link.link if link is not None else None
        async with self._lock:
            if self.config.sync.enabled:
                await self._launch(self.config.sync)

    async def reload(self) -> SyncStatus:
        """Re-read the link file and restart the link with it; the new status."""
        async with self._lock:
            try:
                link = await asyncio.to_thread(read_link, self.data_dir)
                if link is None:
                    raise Conflict(
                        "not_claimed",
                        f"there is no cloud link file at {link_path(self.data_dir)}: "
                        "claim the hub first (smartpos-hub claim CODE --cloud URL)",
                    )
                section = merge_sync(self.config.sync, link, self.data_dir)
            except ConfigError as exc:
                raise Invalid("cloud_link_invalid", str(exc)) from None
            await self._halt()
            self.config = msgspec.structs.replace(self.config, sync=section)
            self.info = link.link
            if section.enabled:
                await self._launch(section)
            log.info(
                "cloud link reloaded",
                extra={"enabled": section.enabled, "broker": section.broker, "hub": section.hub_id},
            )
        return await self.status()

    async def stop(self) -> None:
        """Stop the link (daemon shutdown)."""
        async with self._lock:
            await self._halt()

    async def status(self) -> SyncStatus:
        """The link's status, with where the claim came from when the hub was claimed."""
        service = self.service
        if service is None:
            config = await read_state(self._db)
            status = SyncStatus(
                enabled=False, connected=False, broker="", hub="", session=0,
                backlog=await outbox.backlog(self._db), last_ack=await outbox.last_delivered(self._db),
                last_ack_at=None, applied_config_version=config.applied_version, last_error=NOT_CLAIMED,
                rejected_config_version=config.rejected_version, config_error=config.error or None,
            )  # fmt: skip
        else:
            status = await service.status()
        if self.info is None:
            return status
        return msgspec.structs.replace(
            status,
            cloud=self.info.cloud,
            hub_name=self.info.hub_name,
            claimed_at=self.info.claimed_at or None,
        )

    async def _launch(self, section: SyncSection) -> None:
        service = await self._factory(section)
        await service.start()
        self.service = service
        if self._on_change is not None:
            self._on_change(service)

    async def _halt(self) -> None:
        service, self.service = self.service, None
        if self._on_change is not None:
            self._on_change(None)
        if service is not None:
            await service.stop()
