"""Seed 001's sections authored through the API: discounts, campaigns, layouts, floor plans,
roles, infocodes and sales targets reach a store's delta, and bodies that break a rule between
their fields (or point at items that do not exist) are refused naming the field, writing
nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import msgspec

from protocols.sync.config import SECTIONS
from tests.cloud.config_support import Config, bodies, claim, config_for, product
from tests.cloud.conftest import Cloud

SUMMER = {
    "name": "Summer 15%", "discount_type": "PLU_PCT_DISC", "target": "PLU", "subscription_type": "CAMPAIGN",
    "percent": "15", "product_ids": [10], "valid_from": "2026-06-01", "valid_to": "2026-06-30",
}  # fmt: skip
MATCH = {"salesLines": [[{"dpt": [3], "discount": {"type": "PERCENT", "amount": 50}, "order": "PRICE_DESC"}]],
         "sell": [{"productId": "10", "qty": 2}]}  # fmt: skip
CAMPAIGN = {"name": "Summer", "start_date": "2026-06-01", "end_date": "2026-06-30"}


def button(x: int, y: int, action: str = "subtotal", **fields: Any) -> dict[str, Any]:
    return {"x": x, "y": y, "action": action, **fields}


def page(*buttons: dict[str, Any], columns: int = 4, rows: int = 3, **fields: Any) -> dict[str, Any]:
    return {"name": "Main", "columns": columns, "rows": rows, "buttons": list(buttons), **fields}


def layout(*pages: dict[str, Any]) -> dict[str, Any]:
    return {"name": "Counter", "pages": list(pages)}


def typed(section: str, body: Any) -> msgspec.Struct:
    """A body as the section's type, so defaults filled in by the cloud compare equal."""
    decoded: msgspec.Struct = msgspec.json.decode(msgspec.json.encode(body), type=SECTIONS[section])
    return decoded


async def assert_refused(
    c: Config, section: str, key: str, body: dict[str, Any], field: str, code: str = "invalid_config"
) -> None:
    """``body`` answers 422 ``code`` naming ``field``; the version and the item stay as they were."""
    version = await c.version()
    before = await c.get(f"config/{section}/{key}")
    response = await c.put(section, key, body)
    assert response.status_code == 422, (field, response.text)
    error = response.json()["error"]
    assert (error["code"], error["details"]) == (code, {"section": section, "field": field}), error
    assert error["message"].startswith(f"{section}: ")
    assert await c.version() == version
    after = await c.get(f"config/{section}/{key}")
    assert (after.status_code, after.json()) == (before.status_code, before.json())


async def _catalog(c: Config) -> str:
    """Category ``Drinks`` (its key returned), product 10 in it and the ``cash`` tender."""
    category = await c.created("categories", {"name": "Drinks"})
    espresso = await c.put("products", "10", product(category_id=int(category)))
    assert espresso.status_code == 201, espresso.text
    assert (await c.put("tenders", "cash", {"name": "Cash", "tender_type": "cash"})).status_code == 201
    return category


async def test_each_section_bumps_the_version_and_reaches_the_stores_delta(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    hub = await claim(c)
    category = await _catalog(c)
    bundle = {"name": "2 for 1", "discount_type": "MIXNMATCH", "target": "PLU", "match": MATCH,
              "valid_from": "2026-07-01", "valid_to": "2026-07-01"}  # fmt: skip
    campaign = {**CAMPAIGN, "location_id": c.store, "data": {
        "discounts": [{"discount_id": "summer", "start_date": "2026-06-01", "end_date": "2026-06-15"}],
        "reference_periods": [{"start_date": "2025-06-01", "end_date": "2025-06-30", "weight": 2},
                              {"start_date": "2024-06-01", "end_date": "2024-06-30", "weight": 0.5}],
        "report_plus": [10], "report_dpts": [int(category)], "notes": "June push"}}  # fmt: skip
    counter = layout(
        page(button(0, 0, "sell_product", object_id="10", span_x=2, text=["Espresso"], color="#795548"),
             button(2, 0, "apply_discount", object_id="summer"), button(3, 0, "open_tender", object_id="cash"),
             button(0, 1, span_x=4, span_y=2)),
        page(name="Drinks", type="DPT", columns=6, rows=5, dpt_id=int(category)),
    )  # fmt: skip
    hall = {"name": "Hall", "width": 800, "height": 600, "tables": [
        {"id": "T1", "name": "1", "x": 10, "y": 10},
        {"id": "T2", "name": "2", "seats": 6, "shape": "rect", "x": 200, "y": 10, "width": 200, "height": 90}]}  # fmt: skip
    infocode = {"code": "REASON", "prompt": "Why?", "trigger": "RECEIPT_COMMENT",
                "input_type": "functionbuttons", "subcodes": [{"name": "Complaint"}, {"name": "Gift"}]}  # fmt: skip
    target = {"name": "June", "start_date": "2026-06-01", "end_date": "2026-06-30", "type": "TOTAL_SALES_AMOUNT",
              "days": [{"target_date": "2026-06-02", "target_amount": 150000}]}  # fmt: skip
    items: list[tuple[str, str | None, dict[str, Any]]] = [
        ("discounts", "summer", SUMMER), ("discounts", "bundle", bundle), ("campaigns", "summer", campaign),
        ("layouts", "counter", counter), ("floor_plans", "hall", hall),
        ("roles", "cashier", {"permissions": ["sell", "open_shift", "hold_cart"]}),
        ("roles", "manager", {"permissions": ["sell", "open_shift", "refund", "void", "price_override"]}),
        ("infocodes", None, infocode), ("sales_targets", None, target),
    ]  # fmt: skip
    written: dict[tuple[str, str], Any] = {}
    for section, key, body in items:
        version = await c.version()
        response = await (c.put(section, key, body) if key else c.post(section, body))
        assert response.status_code == 201, (section, response.text)
        item = response.json()
        assert item["revision"] == version + 1 == await c.version(), section
        assert typed(section, item["body"]) == typed(section, body), section
        delta = await hub.fetch(version)
        assert (delta.version, delta.full) == (version + 1, False)
        assert bodies(delta) == {(section, item["key"]): item["body"]}, section
        written[section, item["key"]] = item["body"]

    summary = (await c.get(f"stores/{c.store}/config")).json()["sections"]
    assert {name: summary[name]["items"] for name, _, _ in items} == {
        "discounts": 2, "campaigns": 1, "layouts": 1, "floor_plans": 1, "roles": 2, "infocodes": 1,
        "sales_targets": 1,
    }  # fmt: skip
    full = bodies(await hub.fetch())
    assert {k: v for k, v in full.items() if k in written} == written and len(full) == len(written) + 3
    assert full["layouts", "counter"]["pages"][1]["dpt_id"] == int(category)
    assert [t["id"] for t in full["floor_plans", "hall"]["tables"]] == ["T1", "T2"]
    assert full["roles", "manager"]["permissions"][-1] == "price_override"
    # Layout references hold the referenced items: they cannot be deleted while in use.
    for section, key, field in [("products", "10", "pages[0].buttons[0].object_id"),
                                ("categories", category, "pages[1].dpt_id"),
                                ("tenders", "cash", "pages[0].buttons[2].object_id")]:  # fmt: skip
        in_use = await c.delete(section, key)
        assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "in_use", in_use.text
        users = in_use.json()["error"]["details"]["referenced_by"]
        assert {"section": "layouts", "key": "counter", "store_id": "", "field": field} in users, users


async def test_discounts_need_the_value_of_their_type_and_dates_in_order(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    await _catalog(c)
    assert (await c.put("discounts", "summer", SUMMER)).status_code == 201
    plain = {"name": "Any", "target": "RECEIPT"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**plain, "discount_type": "TOTAL_PCT_DISC"}, "percent"),
        ({**plain, "discount_type": "TOTAL_PCT_DISC", "percent": "0"}, "percent"),
        ({**plain, "discount_type": "PLU_PCT_DISC", "percent": "100.5"}, "percent"),
        ({**plain, "discount_type": "PLU_PCT_DISC", "amount": 500}, "percent"),
        ({**plain, "discount_type": "TOTAL_EUR_DISC"}, "amount"),
        ({**plain, "discount_type": "PLU_EUR_DISC", "amount": 0}, "amount"),
        ({**plain, "discount_type": "TOTAL_EUR_DISC", "percent": "10"}, "amount"),
        ({**plain, "discount_type": "SET_PRICE"}, "amount"),
        ({**plain, "discount_type": "MIXNMATCH"}, "match"),
        ({**plain, "discount_type": "BUNDLE", "amount": 990}, "match"),
        ({**SUMMER, "valid_from": "2026-07-01", "valid_to": "2026-06-30"}, "valid_to"),
    ]
    for body, field in cases:
        await assert_refused(c, "discounts", "new", body, field)  # a new item
        await assert_refused(c, "discounts", "summer", body, field)  # replacing a good one
    accepted: list[dict[str, Any]] = [
        {**plain, "discount_type": "TOTAL_PCT_DISC", "percent": "100"},
        {**plain, "discount_type": "TOTAL_PCT_DISC", "percent": "0.5", "valid_from": "2026-01-01",
         "valid_to": "2026-01-01"},
        {**plain, "discount_type": "TOTAL_EUR_DISC", "amount": 1},
        {**plain, "discount_type": "SET_PRICE", "amount": 0},
        {**plain, "discount_type": "BUNDLE", "match": MATCH, "valid_from": "2026-01-01"},
    ]  # fmt: skip
    for i, body in enumerate(accepted):
        response = await c.put("discounts", f"ok{i}", body)
        assert response.status_code == 201, response.text


async def test_campaign_dates_and_reference_periods_must_be_well_formed(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    await _catalog(c)
    assert (await c.put("discounts", "summer", SUMMER)).status_code == 201
    assert (await c.put("campaigns", "summer", CAMPAIGN)).status_code == 201

    def period(start: str, end: str, weight: float = 1) -> dict[str, Any]:
        return {"start_date": start, "end_date": end, "weight": weight}

    good = period("2025-06-01", "2025-06-30")
    cases: list[tuple[dict[str, Any], str]] = [
        ({**CAMPAIGN, "end_date": "2026-05-31"}, "end_date"),
        ({**CAMPAIGN, "data": {"reference_periods": [good, period("2025-07-02", "2025-07-01")]}},
         "data.reference_periods[1].end_date"),
        ({**CAMPAIGN, "data": {"reference_periods": [period("2025-06-01", "2025-06-30", 0)]}},
         "data.reference_periods[0].weight"),
        ({**CAMPAIGN, "data": {"reference_periods": [good, good, period("2024-06-01", "2024-06-30", -2)]}},
         "data.reference_periods[2].weight"),
        ({**CAMPAIGN, "data": {"discounts": [{"discount_id": "summer", "start_date": "2026-06-20",
                                              "end_date": "2026-06-10"}]}}, "data.discounts[0].end_date"),
    ]  # fmt: skip
    for body, field in cases:
        await assert_refused(c, "campaigns", "summer", body, field)
        await assert_refused(c, "campaigns", "winter", body, field)
    missing = {**CAMPAIGN, "data": {"discounts": [{"discount_id": "nope"}]}}
    await assert_refused(
        c, "campaigns", "summer", missing, "data.discounts[0].discount_id", "invalid_reference"
    )
    one_day = {**CAMPAIGN, "end_date": "2026-06-01", "data": {"reference_periods": [
        period("2025-06-01", "2025-06-01", 0.25)]}}  # fmt: skip
    assert (await c.put("campaigns", "summer", one_day)).status_code == 200
    ongoing = {"name": "Always", "start_date": "2026-01-01"}
    assert (await c.put("campaigns", "always", ongoing)).status_code == 201


async def test_layout_buttons_stay_on_their_grid_and_point_at_existing_items(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    category = await _catalog(c)
    base = layout(page(button(0, 0, "sell_product", object_id="10")), page(button(0, 0), rows=2))
    assert (await c.put("layouts", "counter", base)).status_code == 201
    sell = button(0, 0, "sell_product", object_id="10")
    cases: list[tuple[dict[str, Any], str, str]] = [
        (layout(page(sell, button(4, 0))), "pages[0].buttons[1].x", "invalid_config"),
        (layout(page(sell), page(button(0, 2), rows=2)), "pages[1].buttons[0].y", "invalid_config"),
        (layout(page(sell, button(2, 1, span_x=3))), "pages[0].buttons[1].span_x", "invalid_config"),
        (layout(page(sell, button(3, 1, span_y=3))), "pages[0].buttons[1].span_y", "invalid_config"),
        (layout(page(button(0, 0, span_x=2, span_y=2), button(2, 0), button(1, 1))), "pages[0].buttons[2]",
         "invalid_config"),
        (layout(page(sell, button(0, 0))), "pages[0].buttons[1]", "invalid_config"),
        (layout(page(button(0, 0, "sell_product"))), "pages[0].buttons[0].object_id", "invalid_config"),
        (layout(page(button(1, 1, "sell_product", object_id="999"))), "pages[0].buttons[0].object_id",
         "invalid_reference"),
        (layout(page(sell), page(type="DPT", dpt_id=int(category) + 100)), "pages[1].dpt_id", "invalid_reference"),
        (layout(page(sell, button(1, 0, "apply_discount", object_id="nope"))), "pages[0].buttons[1].object_id",
         "invalid_reference"),
        (layout(page(sell, button(1, 0, "open_tender", object_id="card"))), "pages[0].buttons[1].object_id",
         "invalid_reference"),
    ]  # fmt: skip
    for body, field, code in cases:
        await assert_refused(c, "layouts", "counter", body, field, code)
        await assert_refused(c, "layouts", "bar", body, field, code)
    in_use = await c.delete("products", "10")
    assert (
        in_use.status_code == 409
        and in_use.json()["error"]["details"]["field"] == "pages[0].buttons[0].object_id"
    )
    # Edge to edge is on the grid; buttons that only touch do not overlap.
    tiled = layout(page(button(0, 0, span_x=2, span_y=3), button(2, 0, span_x=2), button(2, 1, span_x=2, span_y=2),
                        columns=4, rows=3))  # fmt: skip
    assert (await c.put("layouts", "counter", tiled)).status_code == 200
    # Once no button sells it, the product can go.
    assert (await c.delete("products", "10")).status_code == 200
    assert (await c.put("layouts", "counter", base)).status_code == 422
