"""LAN API: auth, pairing, error envelope, bad input changes nothing, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.procs import HubProcess, http, receipt


def assert_error(response: tuple[int, Any], status: int, code: str) -> dict[str, Any]:
    got_status, body = response
    assert got_status == status, body
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return dict(body["error"])


def no_jobs(hub: HubProcess) -> bool:
    status, body = hub.api("GET", "/api/v1/jobs")
    return status == 200 and body["jobs"] == []


def test_health_and_readiness_need_no_token(hub: HubProcess) -> None:
    assert http("GET", hub.url + "/healthz") == (200, {"status": "ok"})
    status, body = http("GET", hub.url + "/readyz")
    assert status == 200 and body == {"ready": True, "storage": "ok", "devices": "loaded"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/devices"),
        ("GET", "/api/v1/jobs"),
        ("POST", "/api/v1/devices/receipt/jobs"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/events"),
    ],
)
def test_no_token_is_401(hub: HubProcess, method: str, path: str) -> None:
    assert_error(http(method, hub.url + path, body={} if method == "POST" else None), 401, "unauthorized")
    assert_error(
        http(method, hub.url + path, token="not-a-token", body={} if method == "POST" else None),
        401,
        "unauthorized",
    )


def test_pairing_flow_and_roles(hub: HubProcess) -> None:
    status, code = http("POST", hub.url + "/api/v1/pairing-codes", token=hub.admin_token)
    assert status == 201 and len(code["code"]) == 9
    assert_error(
        http("POST", hub.url + "/api/v1/pair", body={"code": "1111-1111", "name": "x"}),
        401,
        "pairing_failed",
    )
    status, paired = http("POST", hub.url + "/api/v1/pair", body={"code": code["code"], "name": "bar-tablet"})
    assert status == 201 and paired["name"] == "bar-tablet"
    assert_error(
        http("POST", hub.url + "/api/v1/pair", body={"code": code["code"], "name": "again"}),
        401,
        "pairing_failed",
    )
    token = paired["token"]
    assert http("GET", hub.url + "/api/v1/devices", token=token)[0] == 200
    # A tablet cannot mint pairing codes or see tokens: that needs the local admin credential.
    assert_error(http("POST", hub.url + "/api/v1/pairing-codes", token=token), 403, "forbidden")
    status, tokens = http("GET", hub.url + "/api/v1/tokens", token=hub.admin_token)
    assert status == 200 and "bar-tablet" in [t["name"] for t in tokens["tokens"]]
    assert all("hash" not in key for t in tokens["tokens"] for key in t)
    assert http("DELETE", f"{hub.url}/api/v1/tokens/{paired['token_id']}", token=hub.admin_token)[0] == 200
    assert_error(http("GET", hub.url + "/api/v1/devices", token=token), 401, "unauthorized")


def test_pairing_guesses_are_rate_limited(hub: HubProcess) -> None:
    responses = [
        http("POST", hub.url + "/api/v1/pair", body={"code": f"{i:04d}-0000", "name": "guess"})
        for i in range(12)
    ]
    assert [s for s, _ in responses[:10]] == [401] * 10
    assert_error(responses[11], 429, "rate_limited")


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b'{"document": ', 400, "invalid_json"),
        (b"not json at all", 400, "invalid_json"),
        (b'{"document": {"blocks": "lots"}}', 422, "validation_failed"),
        (b'{"document": {"blocks": [{"type": "text", "text": 5}]}}', 422, "validation_failed"),
        (b'{"document": {"blocks": [{"type": "sparkle"}]}}', 422, "validation_failed"),
        (
            b'{"document": {"blocks": [{"type": "text", "text": "x"}]}, "priority": 1}',
            422,
            "unknown_field",
        ),
        (
            b'{"document": {"blocks": [{"type": "text", "text": "x", "blink": true}]}}',
            422,
            "unknown_field",
        ),
        (b"{}", 422, "invalid_job"),
        (b'{"raw_base64": "***"}', 422, "invalid_base64"),
        (
            b'{"document": {"blocks": [{"type": "barcode", "symbology": "EAN13", "data": "4006381333932"}]}}',
            422,
            "unprintable_document",
        ),
    ],
)
def test_bad_job_bodies_are_refused_and_queue_nothing(
    hub: HubProcess, raw: bytes, status: int, code: str
) -> None:
    error = assert_error(hub.api("POST", "/api/v1/devices/receipt/jobs", raw=raw), status, code)
    if status == 422 and code in ("validation_failed", "unknown_field"):
        assert error["details"]["path"].startswith("$")
    assert no_jobs(hub)


def test_ten_megabyte_body_is_413(hub: HubProcess) -> None:
    big = b'{"raw_base64": "' + b"A" * (10 * 1024 * 1024) + b'"}'
    assert_error(hub.api("POST", "/api/v1/devices/receipt/jobs", raw=big, timeout=30), 413, "body_too_large")
    assert no_jobs(hub)


def test_unknown_device_and_job(hub: HubProcess) -> None:
    assert_error(
        hub.api("POST", "/api/v1/devices/nope/jobs", body={"document": receipt("x")}),
        404,
        "device_not_found",
    )
    assert_error(hub.api("POST", "/api/v1/devices/nope/drawer", body={}), 404, "device_not_found")
    assert_error(hub.api("GET", "/api/v1/devices/nope"), 404, "device_not_found")
    assert_error(hub.api("GET", "/api/v1/jobs/999"), 404, "job_not_found")
    assert_error(hub.api("GET", "/api/v1/jobs/abc"), 404, "not_found")
    assert_error(hub.api("GET", "/api/v1/nothing-here"), 404, "not_found")
    assert_error(hub.api("GET", "/api/v1/jobs?limit=0"), 400, "invalid_query")
    assert no_jobs(hub)


def test_idempotency_key_returns_the_same_job(hub: HubProcess) -> None:
    body = {"document": receipt("Idempotent receipt"), "idempotency_key": "sale-42-receipt"}
    status, first = hub.api("POST", "/api/v1/devices/receipt/jobs", body=body)
    assert status == 201
    status, again = hub.api("POST", "/api/v1/devices/receipt/jobs", body=body)
    assert status == 200 and again["id"] == first["id"]
    status, header_job = hub.api(
        "POST",
        "/api/v1/devices/receipt/jobs",
        body={"document": receipt("Idempotent receipt")},
        headers={"Idempotency-Key": "sale-42-receipt"},
    )
    assert status == 200 and header_job["id"] == first["id"]
    other = {"document": receipt("A different receipt"), "idempotency_key": "sale-42-receipt"}
    assert_error(hub.api("POST", "/api/v1/devices/receipt/jobs", body=other), 409, "idempotency_conflict")
    hub.wait_job(first["id"])
    _, jobs = hub.api("GET", "/api/v1/jobs")
    assert len(jobs["jobs"]) == 1


def test_openapi_document(hub: HubProcess) -> None:
    status, doc = hub.api("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"] == "3.1.0"
    assert {
        "/healthz",
        "/api/v1/pair",
        "/api/v1/devices/{device_id}/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/events",
    } <= set(doc["paths"])
    submit = doc["paths"]["/api/v1/devices/{device_id}/jobs"]["post"]
    ref = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"document", "raw_base64", "idempotency_key"} <= set(schema["properties"])
    assert "ReceiptDocument" in doc["components"]["schemas"]
    assert {"201", "401", "404", "422"} <= set(submit["responses"])
    # Every $ref resolves.
    text = str(doc)
    import re

    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text)):
        assert name in doc["components"]["schemas"], name
