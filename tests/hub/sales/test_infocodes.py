"""Infocodes through the API: the step is refused until its prompts are answered, answers are
validated by input type, and the ones set to print appear on the receipt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.support.procs import HubProcess, PrinterSim, printer_device

Shop = tuple[HubProcess, dict[str, int]]


@pytest.fixture
def shop(tmp_path: Path, sim: PrinterSim) -> Iterator[Shop]:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)]).start()
    try:
        yield hub, seed_catalog(hub)
    finally:
        hub.stop()


def infocode(hub: HubProcess, **body: Any) -> dict[str, Any]:
    status, created = hub.api("POST", "/api/v1/infocodes", body, token=hub.admin_token)
    assert status == 201, created
    return dict(created)


def answer(hub: HubProcess, context: str, **body: Any) -> tuple[int, Any]:
    return hub.api("POST", f"/api/v1/conversations/{context}/answers", body)


def code_of(result: tuple[int, Any]) -> tuple[int, str]:
    return result[0], result[1]["error"]["code"]


def test_product_prompt_blocks_the_line_until_answered_and_prints(shop: Shop, sim: PrinterSim) -> None:
    hub, ids = shop
    serial = infocode(hub, code="SERIAL", prompt="Serijski broj", trigger="SELL_PRODUCT", plu_id=ids["BAK1"],
                      validation={"minlen": 4}, printing="printprompt")  # fmt: skip
    cart = new_cart(hub)
    assert add(hub, cart["id"], product_id=ids["SOK1"])[0] == 201  # other products are not asked
    refused = add(hub, cart["id"], product_id=ids["BAK1"])
    assert code_of(refused) == (409, "infocode_required")
    assert [p["infocode"]["code"] for p in refused[1]["error"]["details"]["prompts"]] == ["SERIAL"]
    assert len(hub.api("GET", f"/api/v1/carts/{cart['id']}")[1]["lines"]) == 1  # nothing changed
    scope = f"product:{ids['BAK1']}"
    assert code_of(answer(hub, cart["id"], infocode_id=serial["id"], scope=scope, value="SN1")) == (
        422,
        "answer_too_short",
    )
    assert answer(hub, cart["id"], infocode_id=serial["id"], scope=scope, value="SN-1234")[0] == 201
    assert add(hub, cart["id"], product_id=ids["BAK1"])[0] == 201
    status, sale = pay(hub, cart["id"], "info-1", cash(1000))
    assert status == 201, sale
    hub.wait_job(sale["print_job_id"])
    assert "Serijski broj: SN-1234" in sim.paper()


def test_age_limit_on_a_category(shop: Shop) -> None:
    hub, ids = shop
    age = infocode(hub, code="AGE18", prompt="Datum rođenja kupca", trigger="SELL_DPT", dpt_id=ids["food"],
                   input_type="agelimit", validation={"minval": "18"})  # fmt: skip
    cart = new_cart(hub)
    assert code_of(add(hub, cart["id"], product_id=ids["CEV10"])) == (409, "infocode_required")
    scope = f"product:{ids['CEV10']}"
    assert code_of(answer(hub, cart["id"], infocode_id=age["id"], scope=scope, value="2015-05-01")) == (
        422,
        "age_limit",
    )
    assert code_of(answer(hub, cart["id"], infocode_id=age["id"], scope=scope, value="01.05.1990")) == (
        422,
        "invalid_answer",
    )
    assert answer(hub, cart["id"], infocode_id=age["id"], scope=scope, value="1990-05-01")[0] == 201
    assert add(hub, cart["id"], product_id=ids["CEV10"])[0] == 201


def test_void_reason_buttons_and_tender_and_subtotal_prompts(shop: Shop) -> None:
    hub, ids = shop
    reason = infocode(hub, code="VOID", prompt="Razlog poništenja", trigger="RECEIPT_TRASH", input_type="functionbuttons",
                      subcodes=[{"name": "Kupac odustao"}, {"name": "Greška kasira"}])  # fmt: skip
    guests = infocode(hub, code="GUESTS", prompt="Broj gostiju", trigger="SUBTOTAL", input_type="numeric",
                      validation={"minval": "1", "maxval": "50"}, printing="printtype")  # fmt: skip
    digits = infocode(hub, code="CARD4", prompt="Zadnje 4 cifre kartice", trigger="TENDER", tender_id="card",
                      validation={"minlen": 4, "maxlen": 4})  # fmt: skip
    hint = infocode(
        hub,
        code="LOYALTY",
        prompt="Kartica lojalnosti?",
        trigger="RECEIPT_START",
        validation={"required": False},
    )
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["SOK1"])  # the optional RECEIPT_START prompt does not block
    due = hub.api("GET", f"/api/v1/conversations/{cart['id']}/prompts?trigger=RECEIPT_START")[1]["prompts"]
    assert [p["infocode"]["id"] for p in due] == [hint["id"]]
    assert code_of(hub.api("POST", f"/api/v1/carts/{cart['id']}/void", {"reason": "x"})) == (
        409,
        "infocode_required",
    )
    assert code_of(answer(hub, cart["id"], infocode_id=reason["id"], value="free text")) == (
        422,
        "subcode_required",
    )
    button = reason["subcodes"][0]["id"]
    assert answer(hub, cart["id"], infocode_id=reason["id"], subcode_id=button)[1]["value"] == "Kupac odustao"
    assert hub.api("POST", f"/api/v1/carts/{cart['id']}/void", {"reason": "x"})[0] == 200
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["SOK1"])
    card = {"tender_id": "card", "amount": 250, "card_confirmed": True}
    assert code_of(pay(hub, cart["id"], "p1", card)) == (409, "infocode_required")
    assert code_of(answer(hub, cart["id"], infocode_id=guests["id"], value="0")) == (
        422,
        "answer_out_of_range",
    )
    answer(hub, cart["id"], infocode_id=guests["id"], value="3")
    refused = pay(hub, cart["id"], "p1", card)
    assert code_of(refused) == (409, "infocode_required")
    assert refused[1]["error"]["details"]["prompts"][0]["scope"] == "tender:card"
    answer(hub, cart["id"], infocode_id=digits["id"], scope="tender:card", value="4242")
    status, sale = pay(hub, cart["id"], "p1", card)
    assert status == 201, sale
    stored = hub.api("GET", f"/api/v1/conversations/{cart['id']}/answers")[1]["answers"]
    assert {a["code"]: a["value"] for a in stored} == {"GUESTS": "3", "CARD4": "4242"}


def test_refund_reason_prompt(shop: Shop) -> None:
    hub, ids = shop
    cart = new_cart(hub)
    add(hub, cart["id"], product_id=ids["SOK1"])
    _, sale = pay(hub, cart["id"], "to-refund", cash(250), print_receipt=False)
    why = infocode(hub, code="WHY", prompt="Razlog povrata", trigger="REFUND", validation={"minlen": 3})
    body = {"idempotency_key": "ref-9", "terminal_id": "T1", "reason": "r",
            "lines": [{"sale_line_id": sale["lines"][0]["id"], "quantity": "1"}]}  # fmt: skip
    url = f"/api/v1/sales/{sale['id']}/refunds"
    assert code_of(hub.api("POST", url, body)) == (409, "infocode_required")
    assert answer(hub, "refund:ref-9", infocode_id=why["id"], value="pokvareno")[0] == 201
    assert hub.api("POST", url, body)[0] == 201
