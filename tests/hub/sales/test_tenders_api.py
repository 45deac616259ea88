"""Tenders through the API: Finnish cash rounding on cash only, gift cards, vouchers with a
comment, and the invoice tender that leaves a balance due."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.support.procs import HubProcess


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path, []).start()
    try:
        yield process
    finally:
        process.stop()


def product(hub: HubProcess, price: int) -> int:
    status, body = hub.api(
        "POST", "/api/v1/products", {"name": f"Item {price}", "price": price}, token=hub.admin_token
    )
    assert status == 201, body
    return int(body["id"])


def cart_of(hub: HubProcess, product_id: int) -> str:
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=product_id)
    return str(cart["id"])


def tender(hub: HubProcess, tender_id: str) -> dict[str, Any]:
    tenders = hub.api("GET", "/api/v1/tenders")[1]["tenders"]
    return dict(next(t for t in tenders if t["id"] == tender_id))


def test_finland_rounds_cash_to_five_cents_and_never_card(hub: HubProcess) -> None:
    euro = {**tender(hub, "cash"), "name": "Käteinen", "rounding": 5}
    assert hub.api("PUT", "/api/v1/tenders/cash", euro, token=hub.admin_token)[0] == 200
    for price, paid in ((102, 100), (103, 105), (107, 105), (108, 110)):
        item = product(hub, price)
        status, sale = pay(hub, cart_of(hub, item), f"fi-{price}", cash(paid), print_receipt=False)
        assert status == 201, sale
        assert (sale["total"], sale["paid_total"], sale["rounding"], sale["change_total"]) == (
            price,
            paid,
            paid - price,
            0,
        )
        card = {"tender_id": "card", "amount": price, "card_confirmed": True}
        status, by_card = pay(hub, cart_of(hub, item), f"fi-card-{price}", card, print_receipt=False)
        assert status == 201 and by_card["rounding"] == 0 and by_card["paid_total"] == price
    short = pay(hub, cart_of(hub, product(hub, 102)), "fi-short", cash(95))
    assert short[0] == 422 and short[1]["error"]["code"] == "underpaid"


def test_gift_card_pays_and_its_balance_goes_down(hub: HubProcess) -> None:
    assert (
        hub.api("POST", "/api/v1/gift-cards", {"code": "GC100", "amount": 1000}, token=hub.admin_token)[0]
        == 201
    )
    item = product(hub, 700)
    gift = {"tender_id": "giftcard", "amount": 700, "reference": "GC100"}
    status, sale = pay(hub, cart_of(hub, item), "gift-1", gift)
    assert status == 201, sale
    # 3.00 left on the card: a second 7.00 sale cannot be paid from it, and changes nothing.
    refused = pay(hub, cart_of(hub, item), "gift-2", gift)
    assert refused[0] == 409 and refused[1]["error"]["code"] == "gift_card_insufficient"
    mixed = pay(hub, cart_of(hub, item), "gift-3", {**gift, "amount": 300}, cash(400))
    assert mixed[0] == 201, mixed


def test_voucher_needs_a_comment_and_invoice_leaves_a_balance(hub: HubProcess) -> None:
    item = product(hub, 2000)
    no_comment = pay(hub, cart_of(hub, item), "v-1", {"tender_id": "voucher", "amount": 2000})
    assert no_comment[0] == 422 and no_comment[1]["error"]["code"] == "comment_required"
    status, sale = pay(
        hub, cart_of(hub, item), "v-2", {"tender_id": "voucher", "amount": 2000, "comment": "Bon 17/2026"}
    )
    assert status == 201 and sale["payments"][0]["comment"] == "Bon 17/2026"
    # The invoice tender (only_this, under-tender allowed): a deposit now, the rest on account,
    # for a customer whose company details fill the invoice's buyer.
    company = {
        "name": "Firma",
        "company_name": "Firma d.o.o.",
        "tax_id": "4200000000001",
        "address": "Titova 1",
    }
    customer = hub.api("POST", "/api/v1/customers", company)[1]
    cart_id = cart_of(hub, item)
    hub.api("PUT", f"/api/v1/carts/{cart_id}/customer", {"customer_id": customer["id"]})
    status, sale = pay(hub, cart_id, "inv-1", {"tender_id": "invoice", "amount": 1500})
    assert status == 201, sale
    assert sale["balance_due"] == 500 and sale["paid_total"] == 1500
    assert sale["doc_type"] == "invoice" and sale["buyer"]["company_name"] == "Firma d.o.o."
    alone = pay(hub, cart_of(hub, item), "inv-2", {"tender_id": "invoice", "amount": 1000}, cash(1000))
    assert alone[0] == 422
