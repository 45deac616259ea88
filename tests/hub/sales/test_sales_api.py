"""The POS terminal through the API, end to end: a real hub process and the printer simulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, PrinterSim, printer_device


def ean13(first12: str) -> str:
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12)) % 10) % 10
    return first12 + str(check)


@pytest.fixture
def shop(tmp_path: Path, sim: PrinterSim) -> Iterator[tuple[HubProcess, dict[str, int]]]:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)]).start()
    try:
        yield hub, seed_catalog(hub)
    finally:
        hub.stop()


def new_cart(hub: HubProcess, **extra: Any) -> dict[str, Any]:
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1", **extra})
    assert status == 201, cart
    return dict(cart)


def add(hub: HubProcess, cart_id: str, **line: Any) -> tuple[int, Any]:
    return hub.api("POST", f"/api/v1/carts/{cart_id}/lines", line)


def pay(hub: HubProcess, cart_id: str, key: str, *payments: dict[str, Any], **extra: Any) -> tuple[int, Any]:
    return hub.api(
        "POST",
        f"/api/v1/carts/{cart_id}/checkout",
        {"idempotency_key": key, "payments": list(payments), **extra},
    )


def cash(amount: int) -> dict[str, Any]:
    return {"tender_id": "cash", "amount": amount}


def test_cash_sale_prints_the_receipt_and_kicks_the_drawer(
    shop: tuple[HubProcess, dict[str, int]], sim: PrinterSim
) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    assert add(hub, cart["id"], product_id=ids["CEV10"], quantity="2")[0] == 201
    status, priced = add(hub, cart["id"], barcode="3870000000020")
    assert status == 201
    assert priced["total"] == 2 * 1170 + 250
    status, sale = pay(hub, cart["id"], "sale-1", cash(3000))
    assert status == 201, sale
    assert (sale["total"], sale["paid_total"], sale["change_total"]) == (2590, 2590, 410)
    assert sale["number_text"] == "T1-R-000001"
    # 17 % inclusive: base 2590 / 1.17 = 2213.68 -> 2214, tax 376.
    assert [(t["rate"], t["base"], t["amount"]) for t in sale["taxes"]] == [("17", 2214, 376)]
    hub.wait_job(sale["print_job_id"])
    hub.wait_job(sale["drawer_job_id"])
    paper = sim.paper()
    assert "T1-R-000001" in paper and "UKUPNO 25.90 KM" in paper and "Povrat (kusur)" in paper
    assert re.search(r"\[DRAWER pin=2 on_ms=100 off_ms=500\]", paper)
    status, cart_after = hub.api("GET", f"/api/v1/carts/{cart['id']}")
    assert cart_after["state"] == "completed" and cart_after["sale_id"] == sale["id"]


def test_the_same_payment_twice_makes_one_sale(
    shop: tuple[HubProcess, dict[str, int]], sim: PrinterSim
) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["SOK1"])
    first = pay(hub, cart["id"], "twice", cash(250))
    second = pay(hub, cart["id"], "twice", cash(250))
    assert (first[0], second[0]) == (201, 200)
    assert first[1]["id"] == second[1]["id"] and first[1]["number_text"] == second[1]["number_text"]
    status, error = pay(hub, cart["id"], "twice", cash(300))
    assert status == 409 and error["error"]["code"] == "idempotency_conflict"
    hub.wait_job(first[1]["print_job_id"])
    assert sim.paper().count("T1-R-000001") == 2  # the number and its QR code, printed once


def test_numbers_have_no_gaps_when_a_payment_is_refused(shop: tuple[HubProcess, dict[str, int]]) -> None:
    hub, ids = shop
    numbers = []
    for attempt in range(3):
        cart = new_cart(hub)
        add(hub, cart["id"], product_id=ids["SOK1"])
        status, error = pay(hub, cart["id"], f"short-{attempt}", cash(100))
        assert status == 422 and error["error"]["code"] == "underpaid"
        status, sale = pay(hub, cart["id"], f"ok-{attempt}", cash(250), print_receipt=False)
        assert status == 201
        numbers.append(sale["number"])
    assert numbers == [1, 2, 3]


def test_bad_input_gets_a_4xx_and_changes_nothing(shop: tuple[HubProcess, dict[str, int]]) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["SOK1"])
    before = hub.api("GET", f"/api/v1/carts/{cart['id']}")[1]
    cases = [
        (add(hub, cart["id"], product_id=ids["SOK1"], quantity="0"), 422, "invalid_quantity"),
        (add(hub, cart["id"], product_id=ids["SOK1"], quantity=2), 422, "validation_failed"),
        (add(hub, cart["id"], barcode="4006381333931"), 404, "unknown_barcode"),
        (add(hub, cart["id"], barcode="4006381333932"), 422, "bad_check_digit"),
        (pay(hub, cart["id"], "float", {"tender_id": "cash", "amount": 2.5}), 422, "validation_failed"),
        (pay(hub, cart["id"], "string", {"tender_id": "cash", "amount": "250"}), 422, "validation_failed"),
        (pay(hub, cart["id"], "neg", {"tender_id": "cash", "amount": -250}), 422, "validation_failed"),
        (pay(hub, cart["id"], "short", cash(249)), 422, "underpaid"),
        (hub.api("POST", f"/api/v1/carts/{cart['id']}/clear", {}), 422, "confirmation_required"),
    ]
    for (status, body), expected_status, code in cases:
        assert status == expected_status and body["error"]["code"] == code, body
    assert hub.api("GET", f"/api/v1/carts/{cart['id']}")[1] == before
