"""API keys (SQLite and PostgreSQL): shown once and stored hashed, usable as a bearer token or
``X-API-Key``, limited to their scopes (403 with a code), bound to their tenant (404 for any
other), refused once revoked (401), and never able to manage users, keys or webhooks."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select, update

from cloud.db.models import Hub
from cloud.db.models_integrations import ApiKey
from tests.cloud.conftest import Cloud, Tenancy


async def new_key(cloud: Cloud, tenancy: Tenancy, *scopes: str, name: str = "BI export") -> dict[str, Any]:
    response = await cloud.client.post(
        "/api/v1/api-keys", json={"name": name, "scopes": list(scopes)}, headers=tenancy.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def claimed_hub(cloud: Cloud, tenancy: Tenancy) -> str:
    added = await cloud.client.post(
        f"/api/v1/stores/{tenancy.stores[0]}/hubs", json={"name": "Till"}, headers=tenancy.headers
    )
    assert added.status_code == 201, added.text
    claimed = await cloud.client.post("/api/v1/hubs/claim", json={"code": added.json()["claim_code"]})
    assert claimed.status_code == 200, claimed.text
    hub_id = str(added.json()["hub"]["id"])
    async with cloud.sessions() as session:
        await session.execute(update(Hub).where(Hub.id == uuid.UUID(hub_id)).values(online=True, session=1))
        await session.commit()
    return hub_id


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_and_stored_hashed(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    issued = await new_key(cloud, acme, "fleet:read", "reports:read", "fleet:read")
    key, row = issued["key"], issued["api_key"]
    assert key.startswith("spk_") and len(key) > 40
    assert key.startswith(row["prefix"]) and len(row["prefix"]) < 16
    assert row["scopes"] == ["fleet:read", "reports:read"]
    assert row["revoked_at"] is None

    listed = await cloud.client.get("/api/v1/api-keys", headers=acme.headers)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()] == [row["id"]]
    assert key not in listed.text and "key_hash" not in listed.text
    one = await cloud.client.get(f"/api/v1/api-keys/{row['id']}", headers=acme.headers)
    assert one.status_code == 200 and "key" not in one.json()

    async with cloud.sessions() as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(row["id"])))
    assert stored is not None
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {stored.key_hash, stored.prefix, stored.name}
    assert stored.tenant_id == acme.tenant_id

    bad = await cloud.client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["users:write"]}, headers=acme.headers
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    scopes = await cloud.client.get("/api/v1/api-keys/scopes", headers=acme.headers)
    assert set(scopes.json()) >= {"reports:read", "config:read", "config:write", "fleet:read", "jobs:write"}


async def test_scopes_bound_what_a_key_can_do(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id = await claimed_hub(cloud, acme)
    reader = (await new_key(cloud, acme, "fleet:read"))["key"]

    for headers in (bearer(reader), {"X-API-Key": reader}):
        fleet = await cloud.client.get("/api/v1/fleet", headers=headers)
        assert fleet.status_code == 200, fleet.text
        assert [h["id"] for h in fleet.json()["hubs"]] == [hub_id]
    jobs = await cloud.client.get(f"/api/v1/hubs/{hub_id}/jobs", headers=bearer(reader))
    assert jobs.status_code == 200, jobs.text

    refused = await cloud.client.post(
        f"/api/v1/hubs/{hub_id}/jobs", json={"kind": "x_report"}, headers=bearer(reader)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert refused.json()["error"]["details"] == {"scope": "jobs:write"}

    writer = (await new_key(cloud, acme, "jobs:write"))["key"]
    sent = await cloud.client.post(
        f"/api/v1/hubs/{hub_id}/jobs", json={"kind": "x_report"}, headers=bearer(writer)
    )
    assert sent.status_code == 201, sent.text
    assert (await cloud.client.get("/api/v1/fleet", headers=bearer(writer))).json()["error"]["code"] == (
        "insufficient_scope"
    )
    # a key holds no admin role: admin-only job kinds stay closed whatever its scopes
    drawer = await cloud.client.post(
        f"/api/v1/hubs/{hub_id}/jobs",
        json={"kind": "open_drawer", "params": {"device": "drawer-1", "reason": "audit"}},
        headers=bearer(writer),
    )
    assert drawer.status_code == 403

    # never users, API keys, webhooks or anything not opened to keys with a scope
    everything = (await new_key(cloud, acme, "fleet:read", "jobs:write", "config:write", "reports:read"))[
        "key"
    ]
    for method, path, body in [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"email": "x@acme.example", "password": "long enough pw", "role": "owner"}),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/api-keys", {"name": "more", "scopes": ["fleet:read"]}),
        ("GET", "/api/v1/webhooks", None),
        ("POST", "/api/v1/webhooks", {"url": "https://h.example/", "event_types": ["order.created"]}),
        ("GET", "/api/v1/auth/me", None),
        ("POST", "/api/v1/stores", {"name": "x"}),
        ("GET", "/api/v1/dead-letters", None),
    ]:
        response = await cloud.client.request(method, path, json=body, headers=bearer(everything))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "api_key_not_allowed"

    # user tokens pass the same guards by role: a manager reads the fleet but cannot make keys
    await cloud.user(acme.tenant_id, "manager@acme.example", role="manager")
    manager = await cloud.login("manager@acme.example")
    assert (await cloud.client.get("/api/v1/fleet", headers=manager)).status_code == 200
    assert (await cloud.client.post("/api/v1/api-keys", json={"name": "m", "scopes": ["fleet:read"]},
                                    headers=manager)).status_code == 403  # fmt: skip


async def test_a_key_is_bound_to_its_tenant(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    other = await cloud.tenancy("Other")
    other_hub = await claimed_hub(cloud, other)
    job = await cloud.client.post(
        f"/api/v1/hubs/{other_hub}/jobs", json={"kind": "x_report"}, headers=other.headers
    )
    assert job.status_code == 201, job.text
    key = (await new_key(cloud, acme, "fleet:read", "jobs:write"))["key"]

    assert (await cloud.client.get("/api/v1/fleet", headers=bearer(key))).json()["hubs"] == []
    for method, path, body in [
        ("GET", f"/api/v1/hubs/{other_hub}/jobs", None),
        ("POST", f"/api/v1/hubs/{other_hub}/jobs", {"kind": "x_report"}),
        ("GET", f"/api/v1/jobs/{job.json()['id']}", None),
    ]:
        response = await cloud.client.request(method, path, json=body, headers=bearer(key))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"

    # another tenant's admin cannot see or revoke the key
    mine = (await cloud.client.get("/api/v1/api-keys", headers=acme.headers)).json()[0]["id"]
    assert (await cloud.client.get(f"/api/v1/api-keys/{mine}", headers=other.headers)).status_code == 404
    assert (await cloud.client.delete(f"/api/v1/api-keys/{mine}", headers=other.headers)).status_code == 404
    assert (await cloud.client.get("/api/v1/api-keys", headers=other.headers)).json() == []
    assert (await cloud.client.get("/api/v1/fleet", headers=bearer(key))).status_code == 200


async def test_a_revoked_or_unknown_key_is_401(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    issued = await new_key(cloud, acme, "fleet:read")
    key = issued["key"]
    assert (await cloud.client.get("/api/v1/fleet", headers=bearer(key))).status_code == 200

    revoked = await cloud.client.delete(f"/api/v1/api-keys/{issued['api_key']['id']}", headers=acme.headers)
    assert revoked.status_code == 204
    for headers in (bearer(key), {"X-API-Key": key}):
        response = await cloud.client.get("/api/v1/fleet", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["www-authenticate"] == "Bearer"
    listed = (await cloud.client.get("/api/v1/api-keys", headers=acme.headers)).json()
    assert listed[0]["revoked_at"] is not None and listed[0]["last_used_at"] is not None

    unknown = await cloud.client.get("/api/v1/fleet", headers=bearer(key[:-4] + "AAAA"))
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    nothing = await cloud.client.get("/api/v1/fleet")
    assert nothing.status_code == 401
