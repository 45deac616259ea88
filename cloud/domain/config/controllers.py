"""``/api/v1/config``, ``/api/v1/stores/{id}/config`` and the hubs' ``/api/v1/hub/config``.

Item bodies are the request bodies as they are (JSON of the section's type); errors name the
field (422 ``invalid_config`` with ``details.field``). Managers read; owners and admins write.
After every committed write the bridge is woken so hubs get the new version at once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.auth.scopes import requires_scope
from cloud.domain.auth.services import Caller
from cloud.domain.config import delta
from cloud.domain.config.csv_import import import_products
from cloud.domain.config.schemas import ConfigItemRead, ConfigPage, ImportReport, StoreConfigRead
from cloud.domain.config.services import ConfigService
from cloud.errors import envelope

Limit = Annotated[int, Parameter(ge=1, le=1000)]
Offset = Annotated[int, Parameter(ge=0)]


def _wake_bridge(state: State) -> None:
    bridge = getattr(state, "bridge", None)
    if bridge is not None:
        bridge.config_changed()


def _written(item: ConfigItemRead, created: bool) -> Response[ConfigItemRead]:
    return Response(item, status_code=201 if created else 200)


class ConfigController(Controller):
    """Tenant-wide configuration items."""

    path = "/api/v1/config"
    tags = ["config"]  # noqa: RUF012

    @post("/products/import", status_code=200, guards=[requires_scope("config:write")])
    async def import_products(
        self, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession, state: State,
        dry_run: bool = True,
    ) -> ImportReport:  # fmt: skip
        """Products from a CSV body (``text/csv``); ``?dry_run=true`` (the default) writes nothing.

        A real import with any error writes nothing (422 ``import_failed``, the report in details).
        """
        report = await import_products(db_session, caller, await request.body(), dry_run=dry_run)
        if not dry_run and report.created + report.updated:
            _wake_bridge(state)
        return report

    @get("/{section:str}", guards=[requires_scope("config:read")])
    async def list_items(
        self, section: str, caller: Caller, db_session: AsyncSession, limit: Limit = 100, offset: Offset = 0
    ) -> ConfigPage:
        """Live tenant-wide items of a section, by key."""
        return await ConfigService(db_session, caller).list(section, limit, offset)

    @post("/{section:str}", guards=[requires_scope("config:write")])
    async def create_item(
        self,
        section: str,
        request: Request[Any, Any, Any],
        caller: Caller,
        db_session: AsyncSession,
        state: State,
    ) -> ConfigItemRead:
        """A new item with a cloud-assigned integer key (integer-keyed sections)."""
        item = await ConfigService(db_session, caller).create(section, await request.body())
        _wake_bridge(state)
        return item

    @get("/{section:str}/{key:str}", guards=[requires_scope("config:read")])
    async def get_item(
        self, section: str, key: str, caller: Caller, db_session: AsyncSession
    ) -> ConfigItemRead:
        """One live item."""
        return await ConfigService(db_session, caller).get(section, key)

    @put("/{section:str}/{key:str}", guards=[requires_scope("config:write")])
    async def put_item(
        self, section: str, key: str, request: Request[Any, Any, Any], caller: Caller, db_session: AsyncSession,
        state: State,
    ) -> Response[ConfigItemRead]:  # fmt: skip
        """Create (201) or replace (200) an item; an identical body changes nothing."""
        item, created = await ConfigService(db_session, caller).put(section, key, await request.body())
        _wake_bridge(state)
        return _written(item, created)

    @delete("/{section:str}/{key:str}", status_code=200, guards=[requires_scope("config:write")])
    async def delete_item(
        self, section: str, key: str, caller: Caller, db_session: AsyncSession, state: State
    ) -> ConfigItemRead:
        """Delete an item (hubs get a tombstone); 409 ``in_use`` while another item refers to it."""
        item = await ConfigService(db_session, caller).delete(section, key)
        _wake_bridge(state)
        return item


class StoreConfigController(Controller):
    """A store's overrides (``products``, ``store_settings``, ``store_options``) and its version."""

    path = "/api/v1/stores/{store_id:uuid}/config"
    tags = ["config"]  # noqa: RUF012

    @get("/", guards=[requires_scope("config:read")])
    async def summary(self, store_id: uuid.UUID, caller: Caller, db_session: AsyncSession) -> StoreConfigRead:
        """The store's effective config version and its items and overrides per section."""
        return await ConfigService(db_session, caller).store_summary(store_id)

    @get("/{section:str}", guards=[requires_scope("config:read")])
    async def list_overrides(
        self, store_id: uuid.UUID, section: str, caller: Caller, db_session: AsyncSession,
        limit: Limit = 100, offset: Offset = 0,
    ) -> ConfigPage:  # fmt: skip
        """The store's live overrides in a section."""
        return await ConfigService(db_session, caller).list(section, limit, offset, store_id)

    @get("/{section:str}/{key:str}", guards=[requires_scope("config:read")])
    async def get_override(
        self, store_id: uuid.UUID, section: str, key: str, caller: Caller, db_session: AsyncSession
    ) -> ConfigItemRead:
        """One live override."""
        return await ConfigService(db_session, caller).get(section, key, store_id)

    @put("/{section:str}/{key:str}", guards=[requires_scope("config:write")])
    async def put_override(
        self, store_id: uuid.UUID, section: str, key: str, request: Request[Any, Any, Any], caller: Caller,
        db_session: AsyncSession, state: State,
    ) -> Response[ConfigItemRead]:  # fmt: skip
        """Create (201) or replace (200) the store's override (a product needs its tenant-wide item)."""
        service = ConfigService(db_session, caller)
        item, created = await service.put(section, key, await request.body(), store_id)
        _wake_bridge(state)
        return _written(item, created)

    @delete("/{section:str}/{key:str}", status_code=200, guards=[requires_scope("config:write")])
    async def delete_override(
        self,
        store_id: uuid.UUID,
        section: str,
        key: str,
        caller: Caller,
        db_session: AsyncSession,
        state: State,
    ) -> ConfigItemRead:
        """Delete the override: the store gets the tenant-wide item again."""
        item = await ConfigService(db_session, caller).delete(section, key, store_id)
        _wake_bridge(state)
        return item


class HubConfigController(Controller):
    """The delta a hub fetches with its broker credentials (no bearer token)."""

    path = delta.FETCH_PATH
    tags = ["sync"]  # noqa: RUF012

    @get("/", exclude_from_auth=True, security=[])
    async def fetch(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        since: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Response[Any]:
        """The hub's :class:`~protocols.sync.config.ConfigDelta` above ``since`` (HTTP Basic auth)."""
        try:
            hub = await delta.authenticate(db_session, request.headers.get("authorization", ""))
        except delta.HubUnauthorized as exc:
            return envelope(
                401, exc.code, exc.message, None, {"WWW-Authenticate": 'Basic realm="smartpos-hub"'}
            )
        body = await delta.build(db_session, hub, since, request.app.state.delta_cache)
        return Response(body, media_type="application/json")
