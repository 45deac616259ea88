"""What a hub fetches: ``GET /api/v1/hub/config?since=V`` with its broker credentials.

The hub authenticates with HTTP Basic (its broker username and password, checked against the
Mosquitto hash the cloud keeps); only an active hub gets an answer. The answer is the
:class:`protocols.sync.config.ConfigDelta` of the hub's store: for every ``(section, key)``
with a row above ``since``, the effective item: the store's override if it is live, else the
tenant-wide item (a tombstone when neither is live), at the higher revision of the two. So
writing, changing or deleting an override, and changing the tenant item under an override,
each re-send the item. With ``since`` 0 (or above the store's version, as after a restore on
the hub) the delta is full and leaves tombstones out. Bodies go out as stored: canonical JSON
embedded raw, from one query with no ORM object per item.
"""

from __future__ import annotations

import base64
import binascii

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Hub
from cloud.domain.config import repository
from cloud.domain.config.delta_cache import DeltaCache
from cloud.errors import DomainError
from cloud.security import verify_mosquitto_hash
from protocols.sync.config import NO_BODY, SECTIONS, ConfigDelta, ConfigItem

FETCH_PATH = "/api/v1/hub/config"
_ORDER = {name: i for i, name in enumerate(SECTIONS)}
_DUMMY = "$7$101$AAAAAAAAAAAAAAAA$" + "A" * 88  # verified against when the username is unknown


class HubUnauthorized(DomainError):
    """401 with a Basic challenge: missing or wrong credentials, or a hub that is not active."""

    def __init__(self, message: str = "a hub's broker username and password are required") -> None:
        super().__init__(401, "unauthorized", message)


def _credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise HubUnauthorized()
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise HubUnauthorized() from None
    if not sep or not username:
        raise HubUnauthorized()
    return username, password


async def authenticate(session: AsyncSession, authorization: str) -> Hub:
    """The active hub whose broker credentials ``authorization`` carries, else 401."""
    username, password = _credentials(authorization)
    hub = await session.scalar(select(Hub).where(Hub.broker_username == username))
    stored = hub.broker_password_hash if hub is not None else None
    ok = verify_mosquitto_hash(stored or _DUMMY, password)
    if hub is None or stored is None or not ok or hub.status != "active":
        raise HubUnauthorized("wrong hub credentials, or the hub is not active")
    return hub


async def build(session: AsyncSession, hub: Hub, since: int, cache: DeltaCache | None = None) -> bytes:
    """The encoded delta of ``hub``'s store above ``since`` (built once per version with ``cache``)."""
    version = await repository.store_version(session, hub.tenant_id, hub.store_id)
    if since > version:
        since = 0
    if cache is None:
        return await _build(session, hub, since, version)
    key = (hub.tenant_id, hub.store_id, since, version)
    return await cache.get(key, lambda: _build(session, hub, since, version))


async def _build(session: AsyncSession, hub: Hub, since: int, version: int) -> bytes:
    full = since == 0
    rows = await repository.delta_rows(session, hub.tenant_id, hub.store_id, since)
    merged: dict[tuple[str, str], list[tuple[int, bool, str | None]]] = {}
    for section, key, scope, revision, deleted, body in rows:
        slot = merged.setdefault((section, key), [(0, True, None), (0, True, None)])
        slot[1 if scope else 0] = (revision, deleted, body)
    items: list[ConfigItem] = []
    for (section, key), (tenant, override) in merged.items():
        revision = max(tenant[0], override[0])
        body = override[2] if not override[1] else (tenant[2] if not tenant[1] else None)
        if body is None and full:
            continue
        raw = msgspec.Raw(body.encode()) if body is not None else NO_BODY
        items.append(ConfigItem(section=section, key=key, revision=revision, deleted=body is None, body=raw))  # type: ignore[arg-type]  # section names come from validated rows
    items.sort(key=lambda item: (_ORDER.get(item.section, len(_ORDER)), item.revision))
    delta = ConfigDelta(store=str(hub.store_id), version=version, since=since, full=full, items=items)
    return msgspec.json.encode(delta)
