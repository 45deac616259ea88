"""Login with email and password, bearer tokens, logout, roles."""

from __future__ import annotations

from typing import Any

from tests.cloud.conftest import PASSWORD, Cloud


def _error(body: Any) -> str:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    code: str = body["error"]["code"]
    return code


async def test_login_returns_a_bearer_token(cloud: Cloud) -> None:
    tenant = await cloud.tenant("Acme")
    await cloud.user(tenant, "Ann@Acme.example", role="owner")
    response = await cloud.client.post(
        "/api/v1/auth/login", json={"email": "ann@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["token"].startswith("spc_")
    assert body["user"]["email"] == "ann@acme.example"
    assert body["user"]["role"] == "owner"
    assert "password_hash" not in body["user"]
    me = await cloud.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["tenant_id"] == str(tenant)
    tenant_view = await cloud.client.get(
        "/api/v1/tenant", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert tenant_view.json()["name"] == "Acme"


async def test_wrong_password_and_unknown_email_are_the_same_401(cloud: Cloud) -> None:
    tenant = await cloud.tenant("Acme")
    await cloud.user(tenant, "ann@acme.example")
    wrong = await cloud.client.post(
        "/api/v1/auth/login", json={"email": "ann@acme.example", "password": "not the password"}
    )
    unknown = await cloud.client.post(
        "/api/v1/auth/login", json={"email": "bob@acme.example", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert _error(response.json()) == "invalid_credentials"
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == unknown.json()


async def test_routes_need_a_valid_token(cloud: Cloud) -> None:
    missing = await cloud.client.get("/api/v1/stores")
    assert missing.status_code == 401
    assert _error(missing.json()) == "unauthorized"
    bogus = await cloud.client.get("/api/v1/stores", headers={"Authorization": "Bearer spc_nope"})
    assert bogus.status_code == 401
    assert _error(bogus.json()) == "invalid_token"
    basic = await cloud.client.get("/api/v1/stores", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


async def test_logout_revokes_the_token(cloud: Cloud) -> None:
    tenant = await cloud.tenant("Acme")
    await cloud.user(tenant, "ann@acme.example")
    headers = await cloud.login("ann@acme.example")
    assert (await cloud.client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    after = await cloud.client.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401
    assert _error(after.json()) == "invalid_token"


async def test_expired_token_is_refused(cloud: Cloud) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from cloud.db.base import utcnow
    from cloud.db.models import ApiToken

    tenant = await cloud.tenant("Acme")
    await cloud.user(tenant, "ann@acme.example")
    headers = await cloud.login("ann@acme.example")
    async with cloud.sessions() as session:
        await session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    response = await cloud.client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert _error(response.json()) == "token_expired"


async def test_a_manager_reads_but_does_not_change(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    await cloud.user(acme.tenant_id, "mia@acme.example", role="manager")
    manager = await cloud.login("mia@acme.example")
    assert (await cloud.client.get("/api/v1/stores", headers=manager)).status_code == 200
    store_id = acme.stores[0]
    refused = await cloud.client.post(f"/api/v1/stores/{store_id}/hubs", json={"name": "x"}, headers=manager)
    assert refused.status_code == 403
    assert _error(refused.json()) == "forbidden"
    # an admin cannot make an owner; an owner can
    admin_makes_owner = await cloud.client.post(
        "/api/v1/users",
        json={"email": "o2@acme.example", "password": PASSWORD, "role": "owner"},
        headers=acme.headers,
    )
    assert admin_makes_owner.status_code == 403
    made = await cloud.client.post(
        "/api/v1/users",
        json={"email": "m2@acme.example", "password": PASSWORD, "role": "manager", "name": "M"},
        headers=acme.headers,
    )
    assert made.status_code == 201
    assert made.json()["tenant_id"] == str(acme.tenant_id)
    await cloud.login("m2@acme.example")
