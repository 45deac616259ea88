"""Helpers for the configuration tests: a tenant's config client and a claimed hub's fetch."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import msgspec

from protocols.sync.config import ConfigDelta, decode_body, decode_delta
from tests.cloud.conftest import Cloud, Tenancy

TAX = {"name": "VAT 19%", "rate": "19"}


def product(name: str = "Espresso", price: Any = 250, **fields: Any) -> dict[str, Any]:
    return {"name": name, "price": price, **fields}


@dataclass
class Config:
    """The config API as one tenant's admin calls it."""

    cloud: Cloud
    tenancy: Tenancy

    @property
    def store(self) -> str:
        return self.tenancy.stores[0]

    async def put(self, section: str, key: str, body: Any, store: str | None = None) -> Any:
        prefix = f"/api/v1/stores/{store}/config" if store else "/api/v1/config"
        return await self.cloud.client.put(
            f"{prefix}/{section}/{key}", json=body, headers=self.tenancy.headers
        )

    async def post(self, section: str, body: Any) -> Any:
        return await self.cloud.client.post(
            f"/api/v1/config/{section}", json=body, headers=self.tenancy.headers
        )

    async def get(self, path: str, **params: Any) -> Any:
        return await self.cloud.client.get(f"/api/v1/{path}", params=params, headers=self.tenancy.headers)

    async def delete(self, section: str, key: str, store: str | None = None) -> Any:
        prefix = f"/api/v1/stores/{store}/config" if store else "/api/v1/config"
        return await self.cloud.client.delete(f"{prefix}/{section}/{key}", headers=self.tenancy.headers)

    async def created(self, section: str, body: Any) -> str:
        response = await self.post(section, body)
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    async def version(self) -> int:
        response = await self.get(f"stores/{self.store}/config")
        assert response.status_code == 200, response.text
        return int(response.json()["version"])


async def config_for(cloud: Cloud, name: str) -> Config:
    return Config(cloud, await cloud.tenancy(name))


@dataclass
class FetchingHub:
    """A claimed hub's HTTP Basic credentials for ``/api/v1/hub/config``."""

    cloud: Cloud
    hub_id: str
    username: str
    password: str

    def auth(self, password: str | None = None) -> dict[str, str]:
        raw = f"{self.username}:{self.password if password is None else password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    async def fetch_raw(self, since: int = 0, password: str | None = None) -> Any:
        return await self.cloud.client.get(
            "/api/v1/hub/config", params={"since": since}, headers=self.auth(password)
        )

    async def fetch(self, since: int = 0) -> ConfigDelta:
        response = await self.fetch_raw(since)
        assert response.status_code == 200, response.text
        delta = decode_delta(response.content)
        for item in delta.items:  # every body decodes as the hub would decode it
            if not item.deleted:
                assert item.has_body
                decode_body(item.section, item.body)
        return delta


async def claim(config: Config, store: str | None = None) -> FetchingHub:
    client, headers = config.cloud.client, config.tenancy.headers
    added = await client.post(
        f"/api/v1/stores/{store or config.store}/hubs", json={"name": "Till"}, headers=headers
    )
    assert added.status_code == 201, added.text
    claimed = await client.post("/api/v1/hubs/claim", json={"code": added.json()["claim_code"]})
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    return FetchingHub(config.cloud, str(body["hub_id"]), body["broker_username"], body["broker_password"])


def bodies(delta: ConfigDelta) -> dict[tuple[str, str], Any]:
    """``(section, key) -> body`` (None for a tombstone)."""
    return {
        (i.section, i.key): (None if i.deleted or not i.has_body else msgspec.json.decode(i.body))
        for i in delta.items
    }
