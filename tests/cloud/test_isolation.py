"""Tenant isolation: an admin of one tenant gets 404 for every object of another."""

from __future__ import annotations

from tests.cloud.conftest import Cloud, store_body


async def test_every_object_of_another_tenant_is_404(cloud: Cloud) -> None:
    a = await cloud.tenancy("Alpha")
    b = await cloud.tenancy("Beta")
    b_store = b.stores[0]
    created = await cloud.client.post(
        f"/api/v1/stores/{b_store}/hubs", json={"name": "B hub"}, headers=b.headers
    )
    assert created.status_code == 201
    b_hub = created.json()["hub"]["id"]
    b_user = (await cloud.client.get("/api/v1/auth/me", headers=b.headers)).json()["id"]

    attempts = [
        ("GET", f"/api/v1/stores/{b_store}", None),
        ("PATCH", f"/api/v1/stores/{b_store}", {"name": "mine now"}),
        ("POST", f"/api/v1/stores/{b_store}/hubs", {"name": "intruder"}),
        ("GET", f"/api/v1/hubs/{b_hub}", None),
        ("GET", f"/api/v1/hubs/{b_hub}/devices", None),
        ("POST", f"/api/v1/hubs/{b_hub}/claim-code", None),
        ("DELETE", f"/api/v1/hubs/{b_hub}", None),
        ("GET", f"/api/v1/users/{b_user}", None),
    ]
    for method, path, body in attempts:
        response = await cloud.client.request(method, path, json=body, headers=a.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"

    # lists show only the caller's own objects
    stores = (await cloud.client.get("/api/v1/stores", headers=a.headers)).json()
    assert [s["id"] for s in stores] == a.stores
    assert (await cloud.client.get("/api/v1/hubs", headers=a.headers)).json() == []
    filtered = await cloud.client.get("/api/v1/hubs", params={"store_id": b_store}, headers=a.headers)
    assert filtered.json() == []
    users = (await cloud.client.get("/api/v1/users", headers=a.headers)).json()
    assert [u["email"] for u in users] == [a.admin_email]

    # B's objects are untouched
    b_view = await cloud.client.get(f"/api/v1/hubs/{b_hub}", headers=b.headers)
    assert b_view.json()["status"] == "pending"
    assert (await cloud.client.get(f"/api/v1/stores/{b_store}", headers=b.headers)).json()[
        "name"
    ] == "Beta Main"


async def test_store_crud_within_the_tenant(cloud: Cloud) -> None:
    a = await cloud.tenancy("Alpha")
    created = await cloud.client.post(
        "/api/v1/stores", json=store_body("Corner", pos_mode="retail", currency="CHF"), headers=a.headers
    )
    assert created.status_code == 201
    store = created.json()
    assert store["address"]["city"] == "Berlin"
    assert store["regional"] == {"locale": "de-DE", "prices_include_tax": True}
    changed = await cloud.client.patch(
        f"/api/v1/stores/{store['id']}",
        json={"timezone": "Europe/Zurich", "regional": {"locale": "de-CH", "prices_include_tax": False}},
        headers=a.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["timezone"] == "Europe/Zurich"
    assert changed.json()["regional"]["prices_include_tax"] is False
    assert changed.json()["currency"] == "CHF"
