"""The retained ``down/config`` of every active hub, kept at its store's config version.

:class:`ConfigPublisher` remembers the version it last published per hub. Each run reads the
tenants' revision counters (one small row per tenant) and looks further only at tenants whose
counter moved, plus hubs that just came online; so a quiet fleet costs one tiny query per run.
The first run publishes to every active hub. The message is
:class:`protocols.sync.messages.DesiredConfig` with the version and the fetch URL; the hub
fetches the delta itself (:mod:`cloud.domain.config.delta`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.models import Hub
from cloud.db.models_config import TENANT_SCOPE
from cloud.domain.config import repository
from cloud.domain.config.delta import FETCH_PATH
from protocols.sync.messages import DesiredConfig, encode
from protocols.sync.topics import HubTopics

log = logging.getLogger(__name__)


class ConfigPublisher:
    """Publishes ``down/config`` (retained) through ``publish(topic, payload)``."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], publish: Callable[[str, bytes], None]
    ) -> None:
        self._sessions = sessions
        self._publish = publish
        self._seen: dict[uuid.UUID, int] | None = None  # tenant -> counter; None before the first run
        self._published: dict[uuid.UUID, int] = {}  # hub -> version
        self._forced: set[uuid.UUID] = set()

    def hub_online(self, hub_id: uuid.UUID) -> None:
        """Publish to this hub on the next run even if its version did not change."""
        self._forced.add(hub_id)

    async def run(self) -> int:
        """Publish where a version changed; the number of messages published."""
        forced, self._forced = self._forced, set()
        async with self._sessions() as session:
            counters = await repository.counters(session)
            query = select(Hub.id, Hub.tenant_id, Hub.store_id).where(Hub.status == "active")
            if self._seen is not None:
                dirty = {t for t, r in counters.items() if self._seen.get(t) != r}
                if not dirty and not forced:
                    return 0
                query = query.where(Hub.tenant_id.in_(dirty) | Hub.id.in_(forced))
            hubs = (await session.execute(query)).all()
            versions = await repository.versions(session, {t for _, t, _ in hubs})
        sent = 0
        for hub_id, tenant_id, store_id in hubs:
            version = max(
                versions.get((tenant_id, TENANT_SCOPE), 0), versions.get((tenant_id, str(store_id)), 0)
            )
            if hub_id not in forced and self._published.get(hub_id) == version:
                continue
            topics = HubTopics(str(tenant_id), str(store_id), str(hub_id))
            self._publish(topics.down_config, encode(DesiredConfig(version=version, fetch_url=FETCH_PATH)))
            self._published[hub_id] = version
            sent += 1
        self._seen = counters
        if sent:
            log.info("config versions published", extra={"hubs": sent})
        return sent
