"""Configuration authoring: validation naming the field, references, tombstones, revisions,
roles, PIN hashing and tenant isolation (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from cloud.db.models_config import ConfigRecord
from cloud.security import verify_password
from tests.cloud.config_support import TAX, config_for, product
from tests.cloud.conftest import Cloud


async def test_bodies_are_validated_at_the_edge_and_errors_name_the_field(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    cases = [
        (product(price="2.50"), "price"),
        (product(barcodes=["ok-1234", "x"]), "barcodes[1]"),
        ({"price": 1}, "name"),
        (product(colour="red"), "colour"),
        (product(variants=[{"id": 1}]), "variants[0].name"),
    ]
    for body, field in cases:
        response = await c.put("products", "1", body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_config" and error["details"]["field"] == field, error
    malformed = await cloud.client.put(
        "/api/v1/config/products/1", content=b"{nope", headers=c.tenancy.headers
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "invalid_config"
    unknown = await c.put("coupons", "1", {})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_section"
    bad_key = await c.put("products", "abc", product())
    assert bad_key.status_code == 422 and bad_key.json()["error"]["details"]["field"] == "key"
    singleton = await c.put("store_settings", "main", {})
    assert singleton.status_code == 422 and singleton.json()["error"]["code"] == "invalid_key"
    no_override = await c.put("tax_rates", "1", TAX, store=c.store)
    assert no_override.status_code == 404 and no_override.json()["error"]["code"] == "unknown_section"
    assert await c.version() == 0  # nothing was written


async def test_references_are_checked_and_referenced_items_cannot_be_deleted(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    missing = await c.put("products", "10", product(tax_rate_id=7))
    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == {"section": "products", "field": "tax_rate_id"}
    rate = await c.created("tax_rates", TAX)
    cat = await c.created("categories", {"name": "Drinks"})
    group = await c.put("tax_groups", "50", {"name": "Mixed", "rate_ids": [int(rate), 999]})
    assert group.status_code == 422 and group.json()["error"]["details"]["field"] == "rate_ids[1]"
    espresso = await c.put("products", "10", product(tax_rate_id=int(rate), category_id=int(cat), sku="ESP",
                                                     barcodes=["4006381333931"]))  # fmt: skip
    assert espresso.status_code == 201, espresso.text
    twin = await c.put("products", "11", product("Twin", barcodes=["4006381333931"]))
    assert twin.status_code == 409 and twin.json()["error"]["details"]["field"] == "barcodes[0]"
    same_sku = await c.put("products", "11", product("Twin", variants=[{"id": 5, "name": "L", "sku": "ESP"}]))
    assert same_sku.status_code == 409 and same_sku.json()["error"]["details"]["field"] == "variants[0].sku"
    child = await c.put("categories", "20", {"name": "Hot", "parent_id": int(cat)})
    assert child.status_code == 201
    cycle = await c.put("categories", cat, {"name": "Drinks", "parent_id": 20})
    assert cycle.status_code == 422 and cycle.json()["error"]["details"]["field"] == "parent_id"
    cash = await c.put("tenders", "cash", {"name": "Cash", "tender_type": "cash", "change_tender": "cash"})
    assert cash.status_code == 201, cash.text
    card = await c.put("tenders", "card", {"name": "Card", "tender_type": "card", "change_tender": "voucher"})
    assert card.status_code == 422 and card.json()["error"]["details"]["field"] == "change_tender"

    in_use = await c.delete("tax_rates", rate)
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "in_use"
    assert in_use.json()["error"]["details"]["referenced_by"][0]["key"] == "10"
    assert (await c.delete("products", "10")).status_code == 200
    assert (await c.delete("tax_rates", rate)).status_code == 200
    assert (await c.get(f"config/tax_rates/{rate}")).status_code == 404
    assert (await c.delete("tax_rates", rate)).status_code == 404


async def test_revisions_increase_per_tenant_and_tombstones_keep_theirs(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    revisions = []
    for i in range(3):
        response = await c.post("tax_rates", {"name": f"Rate {i}", "rate": str(5 + i)})
        assert response.status_code == 201
        revisions.append(response.json()["revision"])
    assert revisions == sorted(revisions) and len(set(revisions)) == 3
    same = await c.put("tax_rates", "1", {"name": "Rate 0", "rate": "5"})
    assert same.status_code == 200 and same.json()["revision"] == revisions[0]  # unchanged: no revision
    keys = [r["key"] for r in (await c.get("config/tax_rates")).json()["items"]]
    assert keys == ["1", "2", "3"]
    page = (await c.get("config/tax_rates", limit=2, offset=2)).json()
    assert page["total"] == 3 and [r["key"] for r in page["items"]] == ["3"]
    gone = await c.delete("tax_rates", "2")
    assert gone.json()["deleted"] is True and gone.json()["revision"] == revisions[-1] + 1
    assert await c.version() == revisions[-1] + 1
    # Concurrent writes never share a revision.
    results = await asyncio.gather(
        *(c.post("units", {"name": f"U{i}", "abbreviation": "u"}) for i in range(8))
    )
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    assert len({r.json()["revision"] for r in results}) == 8
    assert len({r.json()["key"] for r in results}) == 8
    # An explicit key moves the key counter past it.
    assert (await c.put("units", "100", {"name": "Box", "abbreviation": "bx"})).status_code == 201
    assert int(await c.created("units", {"name": "Kg", "abbreviation": "kg"})) > 100


async def test_employees_send_a_pin_and_only_its_hash_is_kept(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    ana = {"cashier_num": 7, "name": "Ana", "role": "cashier"}
    assert (await c.post("employees", ana)).json()["error"]["details"]["field"] == "pin"
    short = await c.post("employees", {**ana, "pin": "12"})
    assert short.status_code == 422 and short.json()["error"]["details"]["field"] == "pin"
    smuggled = await c.post("employees", {**ana, "pin_hash": "$argon2id$v=19$x"})
    assert smuggled.status_code == 422 and smuggled.json()["error"]["details"]["field"] == "pin_hash"
    created = await c.post("employees", {**ana, "pin": "4821"})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert "pin_hash" not in created.json()["body"] and "pin" not in created.json()["body"]
    stored = await _body(cloud, "employees", key)
    assert stored["pin_hash"].startswith("$argon2id$") and verify_password(stored["pin_hash"], "4821")
    # A change without a PIN keeps it; a duplicate cashier number is refused.
    renamed = await c.put("employees", key, {**ana, "name": "Ana B."})
    assert (
        renamed.status_code == 200
        and (await _body(cloud, "employees", key))["pin_hash"] == stored["pin_hash"]
    )
    clash = await c.post("employees", {**ana, "name": "Bo", "pin": "1111"})
    assert clash.status_code == 409 and clash.json()["error"]["details"]["field"] == "cashier_num"
    listed = (await c.get("config/employees")).json()["items"]
    assert all("pin_hash" not in item["body"] for item in listed)


async def _body(cloud: Cloud, section: str, key: str) -> dict[str, str]:
    import msgspec

    async with cloud.sessions() as session:
        row = await session.scalar(
            select(ConfigRecord).where(ConfigRecord.section == section, ConfigRecord.key == key)
        )
        assert row is not None and row.body is not None
        body: dict[str, str] = msgspec.json.decode(row.body)
        return body


async def test_managers_read_and_only_owners_and_admins_write(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    assert (await c.put("tax_rates", "1", TAX)).status_code == 201
    await cloud.user(c.tenancy.tenant_id, "manager@alpha.example", role="manager")
    manager = await cloud.login("manager@alpha.example")
    read = await cloud.client.get("/api/v1/config/tax_rates/1", headers=manager)
    assert read.status_code == 200 and read.json()["body"]["rate"] == "19"
    summary = await cloud.client.get(f"/api/v1/stores/{c.store}/config", headers=manager)
    assert summary.status_code == 200 and summary.json()["sections"]["tax_rates"] == {
        "items": 1,
        "overrides": 0,
    }
    for method, path in [("PUT", "/api/v1/config/tax_rates/1"), ("POST", "/api/v1/config/tax_rates"),
                         ("DELETE", "/api/v1/config/tax_rates/1")]:  # fmt: skip
        response = await cloud.client.request(method, path, json=TAX, headers=manager)
        assert response.status_code == 403, (method, response.text)
    assert (await cloud.client.get("/api/v1/config/tax_rates")).status_code == 401


async def test_another_tenants_config_and_stores_are_404(cloud: Cloud) -> None:
    a = await config_for(cloud, "Alpha")
    b = await config_for(cloud, "Beta")
    assert (await b.put("tax_rates", "1", {"name": "B rate", "rate": "7"})).status_code == 201
    assert (await b.put("products", "5", product())).status_code == 201
    assert (await a.get("config/tax_rates/1")).status_code == 404
    assert (await a.get("config/tax_rates")).json()["total"] == 0
    assert (await a.delete("tax_rates", "1")).status_code == 404
    # A's product cannot point at B's tax rate, and A's revisions are A's own.
    refused = await a.put("products", "5", product(tax_rate_id=1))
    assert refused.status_code == 422
    assert (await a.put("tax_rates", "1", TAX)).json()["revision"] == 1
    for method, path in [("GET", f"stores/{b.store}/config"), ("GET", f"stores/{b.store}/config/products/5"),
                         ("PUT", f"stores/{b.store}/config/products/5"),
                         ("DELETE", f"stores/{b.store}/config/products/5")]:  # fmt: skip
        response = await cloud.client.request(
            method, f"/api/v1/{path}", json=product(), headers=a.tenancy.headers
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
