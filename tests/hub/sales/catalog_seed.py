"""A small Bosnian catalog authored through the API, shared by the sales tests and benchmark."""

from __future__ import annotations

from typing import Any

from tests.support.procs import HubProcess


def _ok(result: tuple[int, Any]) -> Any:
    status, body = result
    assert status in (200, 201), body
    return body


def seed_catalog(hub: HubProcess, *, products: int = 0) -> dict[str, int]:
    """PDV 17 % (default, inclusive), a kg unit and a few products; returns their ids by name."""
    admin = hub.admin_token
    pdv = _ok(
        hub.api(
            "POST",
            "/api/v1/tax-rates",
            {"name": "PDV", "rate": "17", "inclusive": True, "is_default": True},
            token=admin,
        )
    )
    kg = _ok(
        hub.api(
            "POST", "/api/v1/units", {"name": "kilogram", "abbreviation": "kg", "decimals": 3}, token=admin
        )
    )
    food = _ok(
        hub.api(
            "POST", "/api/v1/categories", {"name": "Hrana", "color": "#aa3300", "sort_order": 1}, token=admin
        )
    )
    ids = {"pdv": pdv["id"], "kg": kg["id"], "food": food["id"]}
    definitions: list[dict[str, Any]] = [
        {
            "name": "Ćevapi 10 kom",
            "price": 1170,
            "sku": "CEV10",
            "barcodes": ["3870000000013"],
            "category_id": food["id"],
        },
        {"name": "Sok od šljive", "price": 250, "sku": "SOK1", "barcodes": ["3870000000020"]},
        {"name": "Sir trapist", "price": 1890, "sku": "SIR1", "unit_id": kg["id"], "plu": "12345"},
        {"name": "Akcijska kafa", "price": 500, "sku": "KAFA1", "is_promo": True},
        {"name": "Baklava", "price": 300, "sku": "BAK1", "track_stock": True, "stock": "10"},
    ]
    definitions += [{"name": f"Artikal {i}", "price": 100 + i, "sku": f"ART{i}"} for i in range(products)]
    for definition in definitions:
        product = _ok(hub.api("POST", "/api/v1/products", definition, token=admin))
        ids[definition["sku"]] = product["id"]
    return ids
