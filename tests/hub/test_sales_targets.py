"""Sales targets through a real hub process: authoring, validation and the achieved amounts
computed from sales made through the API (training left out, refunds subtracted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.support.procs import HubProcess, PrinterSim, printer_device

Shop = tuple[HubProcess, dict[str, int]]
URL = "/api/v1/sales-targets"


@pytest.fixture
def shop(tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5)]).start()
    try:
        yield hub, seed_catalog(hub)
    finally:
        hub.stop()


def error_code(result: tuple[int, Any]) -> tuple[int, str]:
    status, body = result
    return status, body["error"]["code"]


def today(hub: HubProcess) -> date:
    """Today in the store's time zone, as the hub sees it."""
    status, progress = hub.api("GET", f"{URL}/progress")
    assert status == 200, progress
    return date.fromisoformat(progress["date"])


def create(hub: HubProcess, **fields: Any) -> tuple[int, Any]:
    return hub.api("POST", URL, fields, token=hub.admin_token)


def created(hub: HubProcess, **fields: Any) -> dict[str, Any]:
    status, target = create(hub, **fields)
    assert status == 201, target
    return dict(target)


def achieved_on(hub: HubProcess, target_id: int, day: date) -> Any:
    """What the target achieved on ``day`` (from the progress view)."""
    status, progress = hub.api("GET", f"{URL}/progress?date={day.isoformat()}")
    assert status == 200, progress
    target = next(t for t in progress["targets"] if t["id"] == target_id)
    return next(d for d in target["days"] if d["target_date"] == day.isoformat())["total_amount"]


def sell(hub: HubProcess, key: str, *lines: dict[str, Any], training: bool = False) -> dict[str, Any]:
    """A cash sale of ``lines`` (``add`` fields, plus an optional line ``discount``), paid exactly."""
    cart = new_cart(hub, training=training)
    for line in lines:
        wanted = dict(line)
        discount = wanted.pop("discount", None)
        status, body = add(hub, cart["id"], **wanted)
        assert status == 201, body
        if discount is not None:  # a line discount is set on the line once it is in the cart
            line_id = body["lines"][-1]["id"]
            status, body = hub.api(
                "PATCH", f"/api/v1/carts/{cart['id']}/lines/{line_id}", {"discount": discount}
            )
            assert status == 200, body
    status, priced = hub.api("GET", f"/api/v1/carts/{cart['id']}")
    assert status == 200, priced
    status, sale = pay(hub, cart["id"], key, cash(priced["total"]), print_receipt=False)
    assert status == 201, sale
    return dict(sale)


def test_each_type_achieves_what_the_sales_made(shop: Shop) -> None:
    hub, ids = shop
    day = today(hub)
    discounted = {"kind": "percent", "percent": "5"}
    first = sell(
        hub,
        "s1",
        {"product_id": ids["CEV10"], "quantity": "2", "discount": discounted},
        {"product_id": ids["SOK1"]},
    )
    second = sell(hub, "s2", {"product_id": ids["BAK1"], "quantity": "3"})
    sell(hub, "train", {"product_id": ids["CEV10"], "quantity": "5"}, training=True)
    bak_line = second["lines"][0]
    status, refund = hub.api(
        "POST",
        f"/api/v1/sales/{second['id']}/refunds",
        {
            "idempotency_key": "r1",
            "terminal_id": "T1",
            "reason": "oštećeno",
            "lines": [{"sale_line_id": bak_line["id"], "quantity": "1"}],
        },
    )
    assert status == 201 and refund["total"] == -300, refund
    cev_line = next(line for line in first["lines"] if line["product_id"] == ids["CEV10"])
    assert cev_line["discount"] > 0

    net = first["total"] + second["total"] + refund["total"]
    average = int((Decimal(net) / 2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    period = {
        "start_date": (day - timedelta(days=3)).isoformat(),
        "end_date": (day + timedelta(days=3)).isoformat(),
    }
    food = {"target": {"dpt": [ids["food"]]}}
    cases: list[tuple[str, dict[str, Any], Any]] = [
        ("TOTAL_SALES_AMOUNT", {}, net),
        ("TOTAL_SALES_AMOUNT", food, cev_line["total"]),
        (
            "TOTAL_SALES_AMOUNT",
            {"multiplier": "0.5"},
            int((Decimal(net) / 2).to_integral_value(ROUND_HALF_UP)),
        ),
        ("AVG_SALES_AMOUNT", {}, average),
        ("TOTAL_CUSTOMERS_QTY", {}, "2"),  # the refund is not a customer; training is not counted
        ("TOTAL_CUSTOMERS_QTY", {"multiplier": "2"}, "4"),
        ("TOTAL_CUSTOMERS_QTY", {"target": {"plu": [ids["BAK1"]]}}, "1"),
        ("PRODUCT_SALES_QTY", {"target": {"plu": [ids["BAK1"]]}}, "2"),  # 3 sold, 1 refunded
        ("PRODUCT_SALES_QTY", food, "2"),  # the training sale's 5 are left out
        ("PRODUCT_SALES_QTY", {"target": {"plu": [ids["SOK1"]], "dpt": [ids["food"]]}}, "3"),
        ("DISCOUNT_SALES_QTY", {}, "1"),
        ("DISCOUNT_SALES_QTY", {"discount_id": 7}, "1"),
        ("DISCOUNT_SALES_QTY", {"target": {"plu": [ids["SOK1"]]}}, "0"),
    ]
    for number, (kind, data, expected) in enumerate(cases):
        goal: Any = 1000 if kind in ("TOTAL_SALES_AMOUNT", "AVG_SALES_AMOUNT") else "4"
        target = created(
            hub,
            name=f"{kind} {number}",
            type=kind,
            data=data,
            days=[{"target_date": day.isoformat(), "target_amount": goal}],
            **period,
        )
        assert target["location_id"] == "store-1"
        [today_row] = target["days"]
        assert today_row["target_amount"] == goal
        assert today_row["total_amount"] == expected, (kind, data, target)
        assert achieved_on(hub, target["id"], day) == expected, (kind, data)
        percent = (Decimal(str(expected)) * 100 / Decimal(str(goal))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(today_row["percent"]) == percent
    # The sales are not in the days before.
    assert achieved_on(hub, target["id"], day - timedelta(days=1)) == "0"


def test_progress_is_the_week_around_the_day(shop: Shop) -> None:
    hub, ids = shop
    day = today(hub)
    sale = sell(hub, "w1", {"product_id": ids["SOK1"], "quantity": "4"})
    ongoing = created(
        hub,
        name="Promet",
        type="TOTAL_SALES_AMOUNT",
        start_date=(day - timedelta(days=30)).isoformat(),
        days=[
            {"target_date": (day - timedelta(days=30)).isoformat(), "target_amount": 5},
            {"target_date": day.isoformat(), "target_amount": 2000},
            {"target_date": (day + timedelta(days=7)).isoformat(), "target_amount": 0},
        ],
    )
    assert ongoing["end_date"] is None
    ended = created(
        hub,
        name="Old",
        type="TOTAL_SALES_AMOUNT",
        start_date=(day - timedelta(days=20)).isoformat(),
        end_date=(day - timedelta(days=8)).isoformat(),
    )
    later = created(
        hub, name="Later", type="TOTAL_SALES_AMOUNT", start_date=(day + timedelta(days=8)).isoformat()
    )
    edge = created(
        hub,
        name="Edge",
        type="TOTAL_CUSTOMERS_QTY",
        start_date=(day + timedelta(days=7)).isoformat(),
        end_date=(day + timedelta(days=9)).isoformat(),
    )

    status, progress = hub.api("GET", f"{URL}/progress")
    assert status == 200, progress
    assert progress["date"] == day.isoformat()
    assert progress["from_date"] == (day - timedelta(days=7)).isoformat()
    assert progress["to_date"] == (day + timedelta(days=7)).isoformat()
    assert progress["location_id"] == "store-1" and progress["timezone"] == "Europe/Sarajevo"
    shown = {t["id"]: t for t in progress["targets"]}
    assert set(shown) == {ongoing["id"], edge["id"]}, shown
    assert ended["id"] not in shown and later["id"] not in shown
    days = shown[ongoing["id"]]["days"]
    assert [d["target_date"] for d in days] == [(day + timedelta(days=n)).isoformat() for n in range(-7, 8)]
    by_date = {d["target_date"]: d for d in days}
    assert by_date[day.isoformat()] == {
        "target_date": day.isoformat(),
        "target_amount": 2000,
        "total_amount": sale["total"],
        "percent": "50",
    }
    assert sale["total"] == 1000
    assert by_date[(day - timedelta(days=1)).isoformat()] == {
        "target_date": (day - timedelta(days=1)).isoformat(),
        "target_amount": None,
        "total_amount": 0,
        "percent": None,
    }
    assert by_date[(day + timedelta(days=7)).isoformat()]["percent"] is None  # a zero goal
    assert [d["target_date"] for d in shown[edge["id"]]["days"]] == [(day + timedelta(days=7)).isoformat()]

    # Another week: the ended target shows, today's sale does not.
    past = day - timedelta(days=14)
    status, progress = hub.api("GET", f"{URL}/progress?date={past.isoformat()}")
    assert status == 200, progress
    shown = {t["id"]: t for t in progress["targets"]}
    assert set(shown) == {ongoing["id"], ended["id"]}
    assert [d["target_date"] for d in shown[ended["id"]]["days"]][-1] == (day - timedelta(days=8)).isoformat()
    assert all(d["total_amount"] == 0 for d in shown[ongoing["id"]]["days"])
    assert error_code(hub.api("GET", f"{URL}/progress?date=2024-13-01")) == (400, "invalid_query")
    assert error_code(hub.api("GET", f"{URL}/progress?day=2024-01-01")) == (400, "invalid_query")


def test_authoring_crud_and_permissions(shop: Shop) -> None:
    hub, ids = shop
    day = today(hub)
    body: dict[str, Any] = {
        "name": "Baklava",
        "type": "PRODUCT_SALES_QTY",
        "start_date": day.isoformat(),
        "end_date": (day + timedelta(days=6)).isoformat(),
        "data": {"target": {"plu": [ids["BAK1"]]}, "campaign": "Ramazan", "multiplier": "1.5"},
    }
    assert error_code(hub.api("POST", URL, body)) == (403, "permission_denied")  # a cashier's tablet
    target = created(hub, **body)
    assert target["data"] == {
        "target": {"plu": [ids["BAK1"]], "dpt": [], "grp": []},
        "campaign": "Ramazan",
        "discount_id": None,
        "multiplier": "1.5",
    }
    item = f"{URL}/{target['id']}"
    days = {"days": [{"target_date": day.isoformat(), "target_amount": "2.5"}]}
    assert error_code(hub.api("PUT", f"{item}/days", days)) == (403, "permission_denied")
    status, updated = hub.api("PUT", f"{item}/days", days, token=hub.admin_token)
    assert status == 200, updated
    assert updated["days"] == [
        {"target_date": day.isoformat(), "target_amount": "2.5", "total_amount": "0", "percent": "0"}
    ]
    sell(hub, "b1", {"product_id": ids["BAK1"]})
    status, read = hub.api("GET", item)  # any paired device reads
    assert status == 200 and read["days"][0]["total_amount"] == "1.5" and read["days"][0]["percent"] == "60"
    status, listed = hub.api("GET", URL)
    assert status == 200 and [(t["id"], t["days_count"]) for t in listed["targets"]] == [(target["id"], 1)]

    renamed = {**body, "name": "Baklava 2", "end_date": None}
    assert error_code(hub.api("PUT", item, renamed)) == (403, "permission_denied")
    status, replaced = hub.api("PUT", item, renamed, token=hub.admin_token)
    assert status == 200 and replaced["name"] == "Baklava 2" and replaced["end_date"] is None
    assert len(replaced["days"]) == 1  # days kept when not sent
    # Kept days must still fit: a later start, or a type whose goals are amounts.
    later = {**body, "start_date": (day + timedelta(days=1)).isoformat()}
    assert error_code(hub.api("PUT", item, later, token=hub.admin_token)) == (422, "days_do_not_fit")
    as_amount = {**body, "type": "TOTAL_SALES_AMOUNT", "data": {}}
    assert error_code(hub.api("PUT", item, as_amount, token=hub.admin_token)) == (422, "days_do_not_fit")
    status, replaced = hub.api("PUT", item, {**as_amount, "days": []}, token=hub.admin_token)
    assert status == 200 and replaced["type"] == "TOTAL_SALES_AMOUNT" and replaced["days"] == []

    assert error_code(hub.api("DELETE", item)) == (403, "permission_denied")
    status, deleted = hub.api("DELETE", item, token=hub.admin_token)
    assert status == 200 and deleted == {"id": target["id"], "deleted": True}
    for method, path, payload in [
        ("GET", item, None),
        ("PUT", item, body),
        ("PUT", f"{item}/days", days),
        ("DELETE", item, None),
    ]:
        assert error_code(hub.api(method, path, payload, token=hub.admin_token)) == (404, "target_not_found")
    assert error_code(hub.api("GET", f"{URL}/abc")) == (404, "not_found")


def test_bad_targets_get_a_4xx_with_a_code_and_change_nothing(shop: Shop) -> None:
    hub, _ = shop
    day = today(hub).isoformat()
    tomorrow = (today(hub) + timedelta(days=1)).isoformat()
    base: dict[str, Any] = {"name": "Promet", "type": "TOTAL_SALES_AMOUNT", "start_date": day}

    def goal(amount: Any, on: str = day) -> dict[str, Any]:
        return {"target_date": on, "target_amount": amount}

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "start_date": tomorrow, "end_date": day}, 422, "end_before_start"),
        ({**base, "type": "PRODUCT_SALES_QTY"}, 422, "target_scope_required"),
        ({**base, "type": "PRODUCT_SALES_QTY", "data": {"target": {}}}, 422, "target_scope_required"),
        ({**base, "days": [goal(-1)]}, 422, "negative_target_amount"),
        ({**base, "type": "TOTAL_CUSTOMERS_QTY", "days": [goal("-3")]}, 422, "negative_target_amount"),
        ({**base, "days": [goal("100")]}, 422, "invalid_target_amount"),  # amounts are integers
        ({**base, "type": "TOTAL_CUSTOMERS_QTY", "days": [goal(3)]}, 422, "invalid_target_amount"),
        ({**base, "type": "TOTAL_CUSTOMERS_QTY", "days": [goal("1.2345")]}, 422, "invalid_target_amount"),
        ({**base, "days": [goal(2.5)]}, 422, "validation_failed"),
        ({**base, "end_date": day, "days": [goal(1, tomorrow)]}, 422, "day_outside_period"),
        ({**base, "start_date": tomorrow, "days": [goal(1)]}, 422, "day_outside_period"),
        ({**base, "days": [goal(1), goal(2)]}, 422, "duplicate_day"),
        ({**base, "data": {"target": {"plu": [999999]}}}, 422, "unknown_product"),
        ({**base, "data": {"target": {"grp": [999999]}}}, 422, "unknown_category"),
        ({**base, "data": {"multiplier": "0"}}, 422, "invalid_multiplier"),
        ({**base, "data": {"multiplier": 1.5}}, 422, "validation_failed"),
        ({**base, "data": {"discount_id": 3}}, 422, "discount_id_not_applicable"),
        ({**base, "type": "SOMETHING"}, 422, "validation_failed"),
        ({**base, "start_date": "2024-02-30"}, 422, "validation_failed"),
        ({**base, "location_id": "store-2"}, 422, "unknown_location"),
        ({**base, "colour": "red"}, 422, "unknown_field"),
        ({"type": "TOTAL_SALES_AMOUNT", "start_date": day}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        assert error_code(create(hub, **body)) == (status, code), body
    assert hub.api("GET", URL)[1] == {"targets": []}

    target = created(hub, **{**base, "end_date": tomorrow, "location_id": "store-1", "days": [goal(500)]})
    days_url = f"{URL}/{target['id']}/days"
    for days, code in [
        ([goal(-5)], "negative_target_amount"),
        ([goal(5, (today(hub) - timedelta(days=1)).isoformat())], "day_outside_period"),
        ([goal(5), goal(6)], "duplicate_day"),
    ]:
        assert error_code(hub.api("PUT", days_url, {"days": days}, token=hub.admin_token)) == (422, code)
    assert [d["target_amount"] for d in hub.api("GET", f"{URL}/{target['id']}")[1]["days"]] == [500]
