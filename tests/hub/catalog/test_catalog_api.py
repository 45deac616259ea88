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
            {"name": "Rate and group", "price": 1, "tax_rate_id": 1, "tax_group_id": 1},
            422,
            "unknown_tax_group",
        ),
    ],
)
def test_bad_products_are_refused(hub: HubProcess, body: dict[str, Any], status: int, code: str) -> None:
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
