"""The catalog through the API of a running hub: CRUD, references, uniqueness and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.procs import HubProcess


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("catalog"), []).start()
    try:
        yield process
    finally:
        process.stop()


def admin(hub: HubProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return hub.api(method, path, body, token=hub.admin_token)


def test_product_with_variants_barcodes_and_references(hub: HubProcess) -> None:
    status, rate = admin(
        hub, "POST", "/api/v1/tax-rates", {"name": "PDV 17", "rate": "17", "is_default": True}
    )
    assert status == 201 and rate["rate"] == "17" and rate["inclusive"]
    _, parent = admin(
        hub, "POST", "/api/v1/categories", {"name": "Pića", "color": "#112233", "sort_order": 2}
    )
    _, child = admin(hub, "POST", "/api/v1/categories", {"name": "Sokovi", "parent_id": parent["id"]})
    status, product = admin(
        hub,
        "POST",
        "/api/v1/products",
        {
            "name": "Majica",
            "price": 2500,
            "cost_price": 1200,
            "sku": "MAJ",
            "barcodes": ["036000291452"],
            "category_id": child["id"],
            "tax_rate_id": rate["id"],
            "track_stock": True,
            "stock": "4",
            "min_stock": "5",
            "variants": [
                {
                    "name": "XL",
                    "price": 2700,
                    "sku": "MAJ-XL",
                    "barcodes": ["96385074"],
                    "own_stock": True,
                    "stock": "2",
                }
            ],
        },
    )
    assert status == 201, product
    assert product["barcodes"] == ["0036000291452"] and product["low_stock"]
    assert [(v["name"], v["price"], v["barcodes"]) for v in product["variants"]] == [
        ("XL", 2700, ["96385074"])
    ]
    # A scanner sending the UPC-A form or the EAN-13 form finds the same product.
    for code in ("036000291452", "0036000291452"):
        status, found = hub.api("GET", f"/api/v1/barcodes/{code}")
        assert status == 200 and found["id"] == product["id"]
    status, page = hub.api("GET", "/api/v1/products?search=maj")
    assert status == 200 and [p["sku"] for p in page["products"]] == ["MAJ"]
    status, patched = admin(
        hub, "PATCH", f"/api/v1/products/{product['id']}", {"price": 2300, "barcodes": []}
    )
    assert status == 200 and patched["price"] == 2300 and patched["barcodes"] == []
    # A category cannot become its own grandparent.
    loop = admin(hub, "PUT", f"/api/v1/categories/{parent['id']}", {"name": "Pića", "parent_id": child["id"]})
    assert loop[0] == 422 and loop[1]["error"]["code"] == "category_cycle"
    status, _ = admin(hub, "DELETE", f"/api/v1/products/{product['id']}")
    assert status == 200
    assert hub.api("GET", "/api/v1/products?search=maj")[1]["products"] == []
    assert hub.api("GET", f"/api/v1/products/{product['id']}")[1]["active"] is False


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "Float", "price": 2.5}, 422, "validation_failed"),
        ({"name": "String", "price": "250"}, 422, "validation_failed"),
        ({"name": "Negative", "price": -1}, 422, "validation_failed"),
        ({"name": "Unknown field", "price": 1, "colour": "red"}, 422, "unknown_field"),
        ({"name": "No category", "price": 1, "category_id": 999}, 422, "unknown_category"),
        ({"name": "Bad EAN", "price": 1, "barcodes": ["4006381333932"]}, 422, "bad_check_digit"),
        (
            {"name": "Rate and group", "price": 1, "tax_rate_id": 1, "tax_group_id": 999},
            422,
            "unknown_tax_group",
        ),
    ],
)
def test_bad_products_are_refused(hub: HubProcess, body: dict[str, Any], status: int, code: str) -> None:
    if "tax_rate_id" in body:
        # A rate that exists on this hub whatever ran before (pytest -n spreads the cases).
        _, rate = admin(hub, "POST", "/api/v1/tax-rates", {"name": "Nula", "rate": "0"})
        body = {**body, "tax_rate_id": rate["id"]}
    before = hub.api("GET", "/api/v1/products?include_archived=true")[1]["total"]
    result = admin(hub, "POST", "/api/v1/products", body)
    assert (result[0], result[1]["error"]["code"]) == (status, code)
    assert hub.api("GET", "/api/v1/products?include_archived=true")[1]["total"] == before


def test_duplicates_conflict_and_cashiers_cannot_edit(hub: HubProcess) -> None:
    assert (
        admin(
            hub,
            "POST",
            "/api/v1/products",
            {"name": "A", "price": 1, "sku": "DUP", "barcodes": ["5901234123457"]},
        )[0]
        == 201
    )
    sku = admin(hub, "POST", "/api/v1/products", {"name": "B", "price": 1, "sku": "DUP"})
    assert (sku[0], sku[1]["error"]["code"]) == (409, "duplicate_sku")
    code = admin(hub, "POST", "/api/v1/products", {"name": "C", "price": 1, "barcodes": ["5901234123457"]})
    assert (code[0], code[1]["error"]["code"]) == (409, "duplicate_barcode")
    denied = hub.api("POST", "/api/v1/products", {"name": "D", "price": 1})  # a paired tablet
    assert (denied[0], denied[1]["error"]["code"]) == (403, "permission_denied")


def test_customers_with_b2b_details(hub: HubProcess) -> None:
    body = {
        "name": "Firma d.o.o.",
        "email": "nabavka@firma.ba",
        "company_name": "Firma d.o.o.",
        "tax_id": "4200000000001",
        "address": "Titova 1",
    }
    status, customer = hub.api("POST", "/api/v1/customers", body)
    assert status == 201 and customer["tax_id"] == "4200000000001"
    status, page = hub.api("GET", "/api/v1/customers?search=firma")
    assert [c["id"] for c in page["customers"]] == [customer["id"]]
    bad = hub.api("POST", "/api/v1/customers", {"name": "X", "email": "not-an-address"})
    assert bad[0] == 422


def test_reference_data_get_patch_and_archive(hub: HubProcess) -> None:
    _, unit = admin(hub, "POST", "/api/v1/units", {"name": "litar", "abbreviation": "l", "decimals": 3})
    status, patched = admin(hub, "PATCH", f"/api/v1/units/{unit['id']}", {"name": "litra"})
    assert status == 200 and (patched["name"], patched["abbreviation"], patched["decimals"]) == (
        "litra",
        "l",
        3,
    )
    assert hub.api("GET", f"/api/v1/units/{unit['id']}")[1]["name"] == "litra"
    _, rate = admin(hub, "POST", "/api/v1/tax-rates", {"name": "Niža", "rate": "5", "priority": 1})
    _, group = admin(hub, "POST", "/api/v1/tax-groups", {"name": "Dvije", "rate_ids": [rate["id"]]})
    assert hub.api("GET", f"/api/v1/tax-groups/{group['id']}")[1]["rate_ids"] == [rate["id"]]
    status, product = admin(
        hub,
        "POST",
        "/api/v1/products",
        {"name": "Mlijeko", "price": 150, "unit_id": unit["id"], "tax_group_id": group["id"]},
    )
    assert status == 201
    # Still in use: refused, and the message says by what.
    for path in (
        f"/api/v1/units/{unit['id']}",
        f"/api/v1/tax-groups/{group['id']}",
        f"/api/v1/tax-rates/{rate['id']}",
    ):
        refused = admin(hub, "DELETE", path)
        assert (refused[0], refused[1]["error"]["code"]) == (409, "in_use"), path
    assert admin(hub, "DELETE", f"/api/v1/products/{product['id']}")[0] == 200
    assert admin(hub, "DELETE", f"/api/v1/units/{unit['id']}") == (200, {"id": unit["id"], "active": False})
    assert unit["id"] not in [u["id"] for u in hub.api("GET", "/api/v1/units")[1]]
    assert unit["id"] in [u["id"] for u in hub.api("GET", "/api/v1/units?include_archived=true")[1]]
    back = admin(hub, "PATCH", f"/api/v1/units/{unit['id']}", {"active": True})
    assert back[0] == 200 and back[1]["active"] is True
    assert admin(hub, "PATCH", "/api/v1/units/99999", {"name": "x"})[1]["error"]["code"] == "unit_not_found"
    bad_rate = admin(hub, "PATCH", f"/api/v1/tax-rates/{rate['id']}", {"rate": "101"})
    assert (bad_rate[0], bad_rate[1]["error"]["code"]) == (422, "invalid_percent")
    denied = hub.api("PATCH", f"/api/v1/units/{unit['id']}", {"name": "y"})
    assert denied[0] == 403


def test_variants_stock_and_released_barcodes(hub: HubProcess) -> None:
    status, product = admin(
        hub,
        "POST",
        "/api/v1/products",
        {"name": "Čarape", "price": 500, "sku": "CAR", "track_stock": True, "stock": "10"},
    )
    assert status == 201
    url = f"/api/v1/products/{product['id']}/variants"
    status, red = admin(
        hub, "POST", url, {"name": "Crvene", "price": 550, "sku": "CAR-R", "barcodes": ["4006381333931"]}
    )
    assert status == 201 and red["barcodes"] == ["4006381333931"]
    clash = admin(hub, "POST", url, {"name": "Plave", "sku": "CAR"})  # the product's own SKU
    assert (clash[0], clash[1]["error"]["code"]) == (409, "duplicate_sku")
    status, changed = admin(
        hub, "PATCH", f"{url}/{red['id']}", {"price": None, "own_stock": True, "stock": "3"}
    )
    assert status == 200 and (changed["price"], changed["own_stock"], changed["stock"]) == (None, True, "3")
    assert [v["id"] for v in hub.api("GET", url)[1]] == [red["id"]]
    # Stock by hand: to a count, or by a delta, each with a reason; every move is listed.
    stock_url = f"/api/v1/products/{product['id']}/stock"
    status, after = admin(hub, "POST", stock_url, {"count": "7", "reason": "inventura"})
    assert status == 200 and after["stock"] == "7"
    status, after = admin(
        hub, "POST", stock_url, {"variant_id": red["id"], "delta": "-4", "reason": "oštećeno"}
    )
    assert status == 200 and after["variants"][0]["stock"] == "-1"
    moves = hub.api("GET", f"/api/v1/products/{product['id']}/stock-movements")[1]["movements"]
    assert [(m["delta"], m["reason"]) for m in moves] == [
        ("-4", "adjustment: oštećeno"),
        ("-3", "adjustment: inventura"),
    ]
    neither = admin(hub, "POST", stock_url, {"reason": "x"})
    assert (neither[0], neither[1]["error"]["code"]) == (422, "delta_or_count")
    # An archived variant gives its barcode up to whoever claims it next.
    assert admin(hub, "DELETE", f"{url}/{red['id']}")[0] == 200
    status, other = admin(
        hub, "POST", "/api/v1/products", {"name": "Nove", "price": 1, "barcodes": ["4006381333931"]}
    )
    assert status == 201, other
    assert hub.api("GET", "/api/v1/barcodes/4006381333931")[1]["id"] == other["id"]
    assert hub.api("GET", "/api/v1/barcodes/4006381333932")[1]["error"]["code"] == "bad_check_digit"
    missing = hub.api("GET", "/api/v1/barcodes/SHELF-404")
    assert (missing[0], missing[1]["error"]["code"]) == (404, "unknown_barcode")


def test_patch_can_clear_fields_and_refuses_bad_ones(hub: HubProcess) -> None:
    _, category = admin(hub, "POST", "/api/v1/categories", {"name": "Razno"})
    _, product = admin(
        hub,
        "POST",
        "/api/v1/products",
        {"name": "Olovka", "price": 80, "category_id": category["id"], "plu": "0042"},
    )
    assert product["plu"] == "42"
    status, cleared = admin(
        hub, "PATCH", f"/api/v1/products/{product['id']}", {"category_id": None, "cost_price": 30}
    )
    assert status == 200 and (cleared["category_id"], cleared["cost_price"], cleared["plu"]) == (
        None,
        30,
        "42",
    )
    for body, code in (
        ({"price": None}, "validation_failed"),
        ({"price": 1.5}, "validation_failed"),
        ({"price": -5}, "validation_failed"),
        ({"category_id": 4242}, "unknown_category"),
        ({"barcodes": ["5901234123458"]}, "bad_check_digit"),
        ({"colour": "red"}, "unknown_field"),
    ):
        result = admin(hub, "PATCH", f"/api/v1/products/{product['id']}", body)
        assert (result[0], result[1]["error"]["code"]) == (422, code), body
    assert hub.api("GET", f"/api/v1/products/{product['id']}")[1]["cost_price"] == 30


def test_customer_patch_permissions_and_archive(hub: HubProcess) -> None:
    status, customer = hub.api("POST", "/api/v1/customers", {"name": "Edin Đozić", "phone": "061222333"})
    assert status == 201
    url = f"/api/v1/customers/{customer['id']}"
    assert hub.api("PATCH", url, {"city": "Tuzla"})[0] == 403  # the till adds, managers edit
    status, changed = admin(hub, "PATCH", url, {"city": "Tuzla", "phone": None})
    assert status == 200 and (changed["city"], changed["phone"], changed["name"]) == (
        "Tuzla",
        None,
        "Edin Đozić",
    )
    assert admin(hub, "PATCH", url, {"max_discount_percent": 5})[0] == 422  # a percent is a string
    assert admin(hub, "DELETE", url)[0] == 200
    assert hub.api("GET", "/api/v1/customers?search=Edin")[1]["total"] == 0
    assert hub.api("GET", "/api/v1/customers?search=Edin&include_archived=true")[1]["total"] == 1
