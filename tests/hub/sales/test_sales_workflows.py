"""The help center's POS Terminal workflows through the API: discounts, gratis, hold and recall,
void, weighed barcodes, card and mix payments, B2B invoices, training mode and refunds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, ean13, new_cart, pay
from tests.support.procs import HubProcess, PrinterSim, printer_device

Shop = tuple[HubProcess, dict[str, int]]


@pytest.fixture
def shop(tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)]).start()
    try:
        yield hub, seed_catalog(hub)
    finally:
        hub.stop()


def error_code(result: tuple[int, Any]) -> tuple[int, str]:
    status, body = result
    return status, body["error"]["code"]


def stock_of(hub: HubProcess, product_id: int) -> str:
    status, product = hub.api("GET", f"/api/v1/products/{product_id}")
    assert status == 200, product
    return str(product["stock"])


def test_discount_limits_follow_the_tiers_the_customer_and_promo_rules(shop: Shop) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["CEV10"])  # 11.70: under 50.00, at most 5 %
    url = f"/api/v1/carts/{cart['id']}/discount"
    assert error_code(hub.api("PUT", url, {"kind": "percent", "percent": "10"})) == (409, "discount_limit")
    status, priced = hub.api("PUT", url, {"kind": "percent", "percent": "5"})
    assert status == 200 and priced["discount_total"] == 59 and priced["total"] == 1111
    # A fixed amount is measured against the same limit: 1.00 of 11.70 is 8.5 %.
    assert error_code(hub.api("PUT", url, {"kind": "amount", "amount": 100})) == (409, "discount_limit")
    # A promo product takes no discount without a customer ...
    hub.api("DELETE", url)
    add(hub, cart["id"], product_id=ids["KAFA1"])
    assert error_code(hub.api("PUT", url, {"kind": "percent", "percent": "5"})) == (
        409,
        "promo_needs_customer",
    )
    # ... and with one, up to the customer's maximum.
    status, customer = hub.api(
        "POST",
        "/api/v1/customers",
        {"name": "Amra Hodžić", "max_discount_percent": "15"},
        token=hub.admin_token,
    )
    assert status == 201, customer
    hub.api("PUT", f"/api/v1/carts/{cart['id']}/customer", {"customer_id": customer["id"]})
    status, priced = hub.api("PUT", url, {"kind": "percent", "percent": "15"})
    assert status == 200 and priced["discount_total"] == 251  # 15 % of 16.70 = 2.505
    assert error_code(hub.api("PUT", url, {"kind": "percent", "percent": "16"})) == (409, "discount_limit")


def test_gratis_is_one_unit_per_product_and_prints_at_zero(shop: Shop, sim: PrinterSim) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    _, priced = add(hub, cart["id"], product_id=ids["SOK1"], quantity="2")
    line_id = priced["lines"][0]["id"]
    status, priced = hub.api("PATCH", f"/api/v1/carts/{cart['id']}/lines/{line_id}", {"gratis": True})
    assert status == 200 and priced["total"] == 250 and priced["lines"][0]["discount_total"] == 250
    # The same product as its own line (it carries a note), so it is not merged.
    _, priced = add(hub, cart["id"], product_id=ids["SOK1"], note="za poslugu")
    second = priced["lines"][1]["id"]
    patched = hub.api("PATCH", f"/api/v1/carts/{cart['id']}/lines/{second}", {"gratis": True})
    assert error_code(patched) == (409, "gratis_limit")
    status, sale = pay(hub, cart["id"], "gratis", cash(500))
    assert status == 201 and sale["total"] == 500  # 3 x 2.50, one of them free
    hub.wait_job(sale["print_job_id"])
    assert "GRATIS" in sim.paper()


def test_hold_recall_and_void(shop: Shop) -> None:
    hub, ids = shop
    held = new_cart(hub)
    add(hub, held["id"], product_id=ids["CEV10"])
    status, view = hub.api("POST", f"/api/v1/carts/{held['id']}/hold", {"note": "sto 4, vraća se"})
    assert status == 200 and view["state"] == "held"
    status, listing = hub.api("GET", "/api/v1/carts?state=held")
    assert [c["hold_note"] for c in listing["carts"]] == ["sto 4, vraća se"]
    assert error_code(add(hub, held["id"], product_id=ids["SOK1"])) == (409, "cart_not_open")
    status, view = hub.api("POST", f"/api/v1/carts/{held['id']}/recall")
    assert status == 200 and view["state"] == "open" and view["total"] == 1170
    assert error_code(hub.api("POST", f"/api/v1/carts/{held['id']}/void", {"reason": ""}))[0] == 422
    status, view = hub.api("POST", f"/api/v1/carts/{held['id']}/void", {"reason": "customer left"})
    assert status == 200 and view["state"] == "voided"
    assert error_code(pay(hub, held["id"], "after-void", cash(2000))) == (409, "cart_not_open")


def test_weighed_label_and_price_override(shop: Shop) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    # Scale label: prefix 2, item 12345, a skipped digit, 00255 g -> 0.255 kg of cheese at 18.90.
    status, priced = add(hub, cart["id"], barcode=ean13("212345000255"))
    assert status == 201, priced
    assert (priced["lines"][0]["quantity"], priced["lines"][0]["gross"]) == ("0.255", 482)
    # A misread label (wrong check digit) is refused, not sold at the wrong weight.
    assert error_code(add(hub, cart["id"], barcode="2123450002550")) == (422, "bad_check_digit")
    # Pieces cannot be sold in fractions; kilograms can.
    assert error_code(add(hub, cart["id"], product_id=ids["SOK1"], quantity="0.5")) == (
        422,
        "invalid_quantity",
    )
    line_id = priced["lines"][0]["id"]
    status, priced = hub.api("PATCH", f"/api/v1/carts/{cart['id']}/lines/{line_id}", {"unit_price": 1500})
    assert status == 200 and priced["lines"][0]["price_overridden"] and priced["total"] == 383


def test_card_and_mix_payments(shop: Shop) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["CEV10"])
    # The card seam: until a terminal driver is configured the cashier confirms the payment.
    unconfirmed = pay(hub, cart["id"], "card-1", {"tender_id": "card", "amount": 1170})
    assert error_code(unconfirmed) == (422, "card_not_confirmed")
    # Mix must add up exactly: card never gives change.
    card = {"tender_id": "card", "reference": "ok", "card_confirmed": True}
    over = pay(hub, cart["id"], "mix-over", cash(500), {**card, "amount": 700})
    assert error_code(over)[0] == 422
    status, sale = pay(hub, cart["id"], "mix", cash(500), {**card, "amount": 670})
    assert status == 201, sale
    assert [(p["tender_id"], p["amount"]) for p in sale["payments"]] == [("cash", 500), ("card", 670)]
    assert sale["change_total"] == 0


def test_b2b_invoice_has_its_own_series_and_an_a4_pdf(shop: Shop) -> None:
    hub, ids = shop
    receipt_cart = new_cart(hub)
    add(hub, receipt_cart["id"], product_id=ids["SOK1"])
    assert pay(hub, receipt_cart["id"], "r1", cash(250), print_receipt=False)[0] == 201
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["CEV10"], quantity="3")
    buyer = {"company_name": "Firma d.o.o.", "tax_id": "4200000000001", "address": "Ferhadija 1, Sarajevo"}
    status, invoice = pay(hub, cart["id"], "inv-1", cash(3510), b2b=True, buyer=buyer, print_receipt=False)
    assert status == 201, invoice
    assert invoice["doc_type"] == "invoice" and invoice["number_text"] == "T1-F-000001"
    assert invoice["buyer"] == buyer
    status, pdf = hub.api_raw("GET", f"/api/v1/sales/{invoice['id']}/invoice.pdf")
    assert status == 200 and pdf.startswith(b"%PDF-")
    assert error_code(pay(hub, new_cart(hub)["id"], "inv-2", cash(1), b2b=True))[0] in (409, 422)


def test_training_sale_is_marked_and_kept_out_of_the_books(shop: Shop, sim: PrinterSim) -> None:
    hub, ids = shop
    cart = new_cart(hub, training=True)
    add(hub, cart["id"], product_id=ids["BAK1"])
    status, sale = pay(hub, cart["id"], "train", cash(300))
    assert status == 201 and sale["training"] and sale["number_text"] == "TR-T1-R-000001"
    hub.wait_job(sale["print_job_id"])
    assert "OBUKA" in sim.paper()
    assert stock_of(hub, ids["BAK1"]) == "10"  # training moves no stock
    real = new_cart(hub)
    add(hub, real["id"], product_id=ids["BAK1"])
    status, sale = pay(hub, real["id"], "real", cash(300), print_receipt=False)
    assert sale["number_text"] == "T1-R-000001"  # the real series is untouched


def test_refund_with_receipt_restores_stock_and_never_exceeds_what_was_sold(
    shop: Shop, sim: PrinterSim
) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["BAK1"], quantity="3")
    add(hub, cart["id"], product_id=ids["SOK1"])
    status, sale = pay(hub, cart["id"], "to-refund", cash(1150), print_receipt=False)
    assert status == 201 and stock_of(hub, ids["BAK1"]) == "7"
    bak = next(line for line in sale["lines"] if line["product_id"] == ids["BAK1"])
    url = f"/api/v1/sales/{sale['id']}/refunds"
    body = {
        "idempotency_key": "ref-1",
        "terminal_id": "T1",
        "reason": "oštećeno",
        "lines": [{"sale_line_id": bak["id"], "quantity": "2"}],
    }
    assert hub.api("POST", url, {**body, "reason": ""})[0] == 422
    status, refund = hub.api("POST", url, body)
    assert status == 201, refund
    assert refund["doc_type"] == "refund" and refund["number_text"] == "T1-P-000001"
    assert refund["total"] == -600 and refund["refund_of"] == sale["id"]
    assert refund["lines"][0]["refund_of_line"] == bak["id"]
    assert stock_of(hub, ids["BAK1"]) == "9"
    assert hub.api("POST", url, body)[1]["id"] == refund["id"]  # the same refund twice is one refund
    again = {**body, "idempotency_key": "ref-2"}
    assert error_code(hub.api("POST", url, again)) == (422, "refund_exceeds_sold")
    hub.wait_job(refund["print_job_id"])
    assert "T1-P-000001" in sim.paper() and "T1-R-000001" in sim.paper()


def test_refund_without_receipt_needs_a_manager(shop: Shop) -> None:
    hub, ids = shop
    body = {
        "idempotency_key": "free-1",
        "terminal_id": "T1",
        "reason": "no receipt",
        "lines": [{"product_id": ids["SOK1"], "quantity": "1", "unit_price": 250}],
    }
    assert error_code(hub.api("POST", "/api/v1/refunds", body)) == (403, "manager_approval_required")
    status, refund = hub.api("POST", "/api/v1/refunds", body, token=hub.admin_token)
    assert status == 201 and refund["total"] == -250 and refund["approved_by"]
