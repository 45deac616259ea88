"""Bad input gets a 4xx in the hub's envelope with a machine-readable code, and changes nothing."""

from __future__ import annotations

from typing import Any

from tests.cloud.conftest import PASSWORD, Cloud, store_body


def _envelope(body: Any) -> dict[str, Any]:
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    return error


async def test_bad_bodies_are_400_validation_errors(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    bad_bodies = [
        store_body("X", currency="euro"),
        store_body("X", pos_mode="drive_through"),
        store_body("", currency="EUR"),
        {**store_body("X"), "surprise": 1},
        {"name": "no address"},
    ]
    for body in bad_bodies:
        response = await cloud.client.post("/api/v1/stores", json=body, headers=acme.headers)
        assert response.status_code == 400, body
        error = _envelope(response.json())
        assert error["code"] == "validation_error"
        assert error["details"], body
    not_json = await cloud.client.post(
        "/api/v1/stores", content=b"{not json", headers={**acme.headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert _envelope(not_json.json())["code"] in {"bad_request", "validation_error"}
    bad_zone = await cloud.client.post(
        "/api/v1/stores", json=store_body("X", timezone="Mars/Olympus"), headers=acme.headers
    )
    assert bad_zone.status_code == 400
    assert _envelope(bad_zone.json()) == {
        "code": "invalid_timezone",
        "message": "unknown time zone 'Mars/Olympus'",
        "details": {"field": "timezone"},
    }
    stores = (await cloud.client.get("/api/v1/stores", headers=acme.headers)).json()
    assert len(stores) == 1  # nothing was created


async def test_other_client_errors_use_the_envelope(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    unknown_route = await cloud.client.get("/api/v1/nowhere", headers=acme.headers)
    assert unknown_route.status_code == 404
    assert _envelope(unknown_route.json())["code"] == "not_found"
    missing_hub = await cloud.client.get(
        "/api/v1/hubs/00000000-0000-4000-8000-000000000000", headers=acme.headers
    )
    assert missing_hub.status_code == 404
    assert _envelope(missing_hub.json())["code"] == "not_found"
    not_a_uuid = await cloud.client.get("/api/v1/hubs/42", headers=acme.headers)
    assert 400 <= not_a_uuid.status_code < 500
    _envelope(not_a_uuid.json())
    wrong_method = await cloud.client.put("/api/v1/stores", headers=acme.headers)
    assert wrong_method.status_code == 405
    assert _envelope(wrong_method.json())["code"] == "method_not_allowed"
    empty_code = await cloud.client.post("/api/v1/hubs/claim", json={"code": ""})
    assert empty_code.status_code == 400
    assert _envelope(empty_code.json())["code"] == "validation_error"


async def test_user_input_errors(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    taken = await cloud.client.post(
        "/api/v1/users",
        json={"email": acme.admin_email.upper(), "password": PASSWORD, "role": "admin"},
        headers=acme.headers,
    )
    assert taken.status_code == 409
    assert _envelope(taken.json())["code"] == "email_taken"
    for body in (
        {"email": "not-an-email", "password": PASSWORD, "role": "admin"},
        {"email": "x@acme.example", "password": "short", "role": "admin"},
        {"email": "x@acme.example", "password": PASSWORD, "role": "superuser"},
    ):
        response = await cloud.client.post("/api/v1/users", json=body, headers=acme.headers)
        assert response.status_code == 400, body
        assert _envelope(response.json())["code"] == "validation_error"
    login_garbage = await cloud.client.post("/api/v1/auth/login", json={"email": 1})
    assert login_garbage.status_code == 400
    assert _envelope(login_garbage.json())["code"] == "validation_error"
