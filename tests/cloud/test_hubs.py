"""Hub provisioning: one-time expiring claim codes, broker credentials, revocation, devices."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from cloud.db.base import utcnow
from cloud.db.models import Hub
from cloud.domain.hubs.schemas import DeviceReport
from cloud.domain.hubs.services import HubService
from cloud.security import verify_mosquitto_hash
from tests.cloud.conftest import Cloud


async def _add_hub(cloud: Cloud, store_id: str, headers: dict[str, str]) -> tuple[str, str]:
    response = await cloud.client.post(
        f"/api/v1/stores/{store_id}/hubs", json={"name": "Back office"}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["hub"]["status"] == "pending"
    return body["hub"]["id"], body["claim_code"]


async def _hub_row(cloud: Cloud, hub_id: str) -> Hub:
    async with cloud.sessions() as session:
        hub = await session.scalar(select(Hub).where(Hub.id == uuid.UUID(hub_id)))
        assert hub is not None
        return hub


async def test_claim_is_one_time_and_stores_only_hashes(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id, code = await _add_hub(cloud, acme.stores[0], acme.headers)
    row = await _hub_row(cloud, hub_id)
    assert row.claim_code_hash is not None and code not in row.claim_code_hash

    # typed loosely on the box: lower case, no dashes
    claimed = await cloud.client.post("/api/v1/hubs/claim", json={"code": code.lower().replace("-", " ")})
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert body["hub_id"] == hub_id
    assert body["tenant_id"] == str(acme.tenant_id)
    assert body["store_id"] == acme.stores[0]
    assert body["broker_username"] == f"hub-{hub_id}"
    assert body["topic_prefix"] == f"smartpos/v1/{acme.tenant_id}/{acme.stores[0]}/{hub_id}"
    row = await _hub_row(cloud, hub_id)
    assert row.status == "active" and row.claimed_at is not None
    assert row.broker_password_hash is not None
    assert body["broker_password"] not in row.broker_password_hash
    assert verify_mosquitto_hash(row.broker_password_hash, body["broker_password"])
    assert not verify_mosquitto_hash(row.broker_password_hash, "guess")

    again = await cloud.client.post("/api/v1/hubs/claim", json={"code": code})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "claim_code_used"
    unknown = await cloud.client.post("/api/v1/hubs/claim", json={"code": "AAAA-BBBB-CCCC-DDDD"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "claim_code_invalid"

    view = (await cloud.client.get(f"/api/v1/hubs/{hub_id}", headers=acme.headers)).json()
    assert view["status"] == "active"
    assert view["broker_username"] == f"hub-{hub_id}"
    assert "broker_password_hash" not in view and "claim_code_hash" not in view

    # a new code for a replaced box replaces the credentials when it is claimed
    reissued = await cloud.client.post(f"/api/v1/hubs/{hub_id}/claim-code", headers=acme.headers)
    assert reissued.status_code == 201
    second = await cloud.client.post("/api/v1/hubs/claim", json={"code": reissued.json()["claim_code"]})
    assert second.status_code == 200
    assert second.json()["broker_password"] != body["broker_password"]


async def test_claim_code_expires(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id, code = await _add_hub(cloud, acme.stores[0], acme.headers)
    async with cloud.sessions() as session:
        await session.execute(
            update(Hub)
            .where(Hub.id == uuid.UUID(hub_id))
            .values(claim_code_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await cloud.client.post("/api/v1/hubs/claim", json={"code": code})
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "claim_code_expired"
    assert (await _hub_row(cloud, hub_id)).status == "pending"
    fresh = await cloud.client.post(f"/api/v1/hubs/{hub_id}/claim-code", headers=acme.headers)
    assert fresh.status_code == 201
    assert (await cloud.client.post("/api/v1/hubs/claim", json={"code": code})).status_code == 404
    assert (
        await cloud.client.post("/api/v1/hubs/claim", json={"code": fresh.json()["claim_code"]})
    ).status_code == 200


async def test_revoke_withdraws_credentials_and_the_code(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id, code = await _add_hub(cloud, acme.stores[0], acme.headers)
    assert (await cloud.client.post("/api/v1/hubs/claim", json={"code": code})).status_code == 200
    assert (await cloud.client.delete(f"/api/v1/hubs/{hub_id}", headers=acme.headers)).status_code == 204
    view = (await cloud.client.get(f"/api/v1/hubs/{hub_id}", headers=acme.headers)).json()
    assert view["status"] == "revoked" and view["revoked_at"] is not None
    row = await _hub_row(cloud, hub_id)
    assert row.broker_password_hash is None and row.claim_code_hash is None
    # revoking twice is harmless; a revoked hub gets no new code
    assert (await cloud.client.delete(f"/api/v1/hubs/{hub_id}", headers=acme.headers)).status_code == 204
    refused = await cloud.client.post(f"/api/v1/hubs/{hub_id}/claim-code", headers=acme.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "hub_revoked"

    # a pending hub revoked before its claim: its code no longer works
    other_id, other_code = await _add_hub(cloud, acme.stores[0], acme.headers)
    assert (await cloud.client.delete(f"/api/v1/hubs/{other_id}", headers=acme.headers)).status_code == 204
    late = await cloud.client.post("/api/v1/hubs/claim", json={"code": other_code})
    assert late.status_code == 404


async def test_broker_hook_runs_on_claim_and_revoke(cloud: Cloud) -> None:
    calls: list[tuple[uuid.UUID, bool]] = []

    class Recording(HubService):
        async def broker_credentials_changed(self, hub: Hub) -> None:
            calls.append((hub.id, hub.broker_password_hash is not None))

    acme = await cloud.tenancy("Acme")
    async with cloud.sessions() as session:
        service = Recording(session, cloud.settings)
        issued = await service.create(acme.tenant_id, uuid.UUID(acme.stores[0]), "Till")
        await service.claim(issued.code)
        await service.revoke(acme.tenant_id, issued.hub.id)
    assert calls == [(issued.hub.id, True), (issued.hub.id, False)]


async def test_reported_devices_are_listed(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub_id, _ = await _add_hub(cloud, acme.stores[0], acme.headers)
    async with cloud.sessions() as session:
        service = HubService(session, cloud.settings)
        await service.record_devices(
            uuid.UUID(hub_id),
            [
                DeviceReport("usb-TM20-X1", "printer", "online", {"paper": "near_end"}),
                DeviceReport("tcp-scale", "scale", "online"),
            ],
        )
        await service.record_devices(uuid.UUID(hub_id), [DeviceReport("usb-TM20-X1", "printer", "error")])
    devices = (await cloud.client.get(f"/api/v1/hubs/{hub_id}/devices", headers=acme.headers)).json()
    assert [(d["device_id"], d["kind"], d["status"]) for d in devices] == [
        ("tcp-scale", "scale", "offline"),
        ("usb-TM20-X1", "printer", "error"),
    ]
    listed = (
        await cloud.client.get("/api/v1/hubs", params={"store_id": acme.stores[0]}, headers=acme.headers)
    ).json()
    assert [h["id"] for h in listed] == [hub_id]
