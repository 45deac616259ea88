"""Card payments through a real hub and ``smartpos-sim terminal --protocol zvt``: approved,
declined, aborted (by the terminal and by the cashier), mixed with cash, refunded to the card,
and a hub killed while the terminal waits for the card: exactly one outcome, never two charges.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for
from tests.support.terminal_sim import DeviceSim


@dataclass
class Till:
    hub: HubProcess
    terminal: DeviceSim
    printer: PrinterSim
    ids: dict[str, int]


@pytest.fixture
def till(tmp_path: Path, sim: PrinterSim) -> Iterator[Till]:
    terminal = DeviceSim("terminal", "zvt").start()
    card = {"id": "card-t1", "kind": "payment_terminal", "driver": "zvt", "url": f"tcp://127.0.0.1:{terminal.port}",
            "role": "payment_terminal", "terminal": "T1"}  # fmt: skip
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5), card])
    try:
        hub.start()
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/card-t1")[1]["status"] == "online", 15, what="terminal"
        )
        yield Till(hub, terminal, sim, seed_catalog(hub))
    finally:
        hub.stop()
        terminal.stop()


def cart_with(till: Till, sku: str = "CEV10", quantity: str = "2") -> str:
    cart = till.hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})[1]
    status, body = till.hub.api("POST", f"/api/v1/carts/{cart['id']}/lines",
                                {"product_id": till.ids[sku], "quantity": quantity})  # fmt: skip
    assert status == 201, body
    return str(cart["id"])


def pay(till: Till, cart_id: str, key: str, *payments: dict[str, Any]) -> tuple[int, Any]:
    return till.hub.api("POST", f"/api/v1/carts/{cart_id}/checkout",
                        {"idempotency_key": key, "payments": list(payments)}, timeout=60)  # fmt: skip


def card(amount: int) -> dict[str, Any]:
    return {"tender_id": "card", "amount": amount}


def booked(till: Till) -> list[dict[str, Any]]:
    return [tx for tx in till.terminal.json("transactions") if tx.get("booked")]


def payment_events(hub: HubProcess) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                f"{hub.url}/api/v1/events?last_id=0", headers={"Authorization": f"Bearer {hub.token}"}
            ) as ws,
        ):
            with_timeout = asyncio.timeout(3)
            try:
                async with with_timeout:
                    async for message in ws:
                        event = json.loads(message.data)
                        if event["type"] == "payment.status":
                            found.append(event["data"])
            except TimeoutError:
                pass
        return found

    return asyncio.run(read())


def test_an_approved_card_payment_completes_the_sale_with_every_status_forwarded(till: Till) -> None:
    till.terminal.control("next pin")
    status, sale = pay(till, cart_with(till), "card-ok", card(2340))
    assert status == 201, sale
    assert [p["tender_id"] for p in sale["payments"]] == ["card"]
    assert len(booked(till)) == 1 and booked(till)[0]["amount"] == 2340
    events = payment_events(till.hub)
    texts = [e.get("text", "").lower() for e in events if e.get("text")]
    assert any("card" in t for t in texts) and any("pin" in t for t in texts)
    assert events[-1]["state"] == "approved"
    payment = till.hub.api("GET", "/api/v1/payments")[1]["payments"][0]
    assert (payment["state"], payment["sale_id"], payment["amount"]) == ("approved", sale["id"], 2340)
    till.hub.wait_job(sale["print_job_id"])
    assert sale["number_text"] in till.printer.paper()


def test_a_decline_leaves_the_cart_intact_with_the_terminals_reason_and_a_retry_pays(till: Till) -> None:
    cart_id = cart_with(till)
    till.terminal.control("next decline 05")
    status, body = pay(till, cart_id, "card-declined", card(2340))
    assert (status, body["error"]["code"]) == (402, "card_declined"), body
    assert body["error"]["message"]
    cart = till.hub.api("GET", f"/api/v1/carts/{cart_id}")[1]
    assert cart["state"] == "open" and len(cart["lines"]) == 1
    assert booked(till) == []
    status, sale = pay(till, cart_id, "card-declined", card(2340))  # the cashier tries again
    assert status == 201, sale
    assert len(booked(till)) == 1


def test_an_abort_on_the_terminal_is_reported_and_nothing_is_sold(till: Till) -> None:
    cart_id = cart_with(till)
    till.terminal.control("next abort")
    status, body = pay(till, cart_id, "card-abort", card(2340))
    assert (status, body["error"]["code"]) == (402, "card_aborted")
    assert till.hub.api("GET", f"/api/v1/carts/{cart_id}")[1]["state"] == "open"


def test_the_cashier_aborts_a_payment_waiting_for_the_card(till: Till) -> None:
    cart_id = cart_with(till)
    till.terminal.control("card 20000")
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(answer=pay(till, cart_id, "card-ecr-abort", card(2340)))
    )
    worker.start()
    wait_for(lambda: any(p["state"] == "waiting_for_card" for p in till.hub.api("GET", "/api/v1/payments")[1]["payments"]),
             10, what="waiting for the card")  # fmt: skip
    assert till.hub.api("POST", "/api/v1/devices/card-t1/abort", {})[0] == 200
    worker.join(30)
    status, body = result["answer"]
    assert (status, body["error"]["code"]) == (402, "card_aborted"), body
    assert booked(till) == []


def test_mix_splits_cash_and_card(till: Till) -> None:
    status, sale = pay(till, cart_with(till), "mix", {"tender_id": "cash", "amount": 1000}, card(1340))
    assert status == 201, sale
    assert [(p["tender_id"], p["amount"]) for p in sale["payments"]] == [("cash", 1000), ("card", 1340)]
    assert [tx["amount"] for tx in booked(till)] == [1340]


def test_a_refund_to_card_uses_the_terminals_refund(till: Till) -> None:
    status, sale = pay(till, cart_with(till), "to-refund", card(2340))
    assert status == 201, sale
    status, refund = till.hub.api(
        "POST", f"/api/v1/sales/{sale['id']}/refunds",
        {"idempotency_key": "refund-card", "terminal_id": "T1", "reason": "returned", "tender_id": "card",
         "lines": [{"sale_line_id": sale["lines"][0]["id"], "quantity": "1"}]},
        token=till.hub.admin_token, timeout=60,
    )  # fmt: skip
    assert status == 201, refund
    kinds = [(tx.get("kind"), tx["amount"]) for tx in booked(till)]
    assert len(kinds) == 2 and kinds[1][1] == 1170


def killed_mid_payment(till: Till, key: str, *, at_the_host: bool = False) -> str:
    """The hub is killed while the terminal waits for the card, which is presented while it is
    down (or, ``at_the_host``, while the host authorises: the terminal then books it whatever
    the ECR does). Returns the cart; no sale was completed with its payment."""
    cart_id = cart_with(till)
    till.terminal.control("card 0" if at_the_host else "card 1500")
    if at_the_host:
        till.terminal.control("delay 2500")

    def doomed_checkout() -> None:
        # The hub is killed under this request: the tablet sees the connection drop.
        with contextlib.suppress(OSError):
            pay(till, cart_id, key, card(2340))

    threading.Thread(target=doomed_checkout, daemon=True).start()
    wait_for(lambda: any(p["state"] == "waiting_for_card" for p in till.hub.api("GET", "/api/v1/payments")[1]["payments"]),
             10, what="waiting for the card")  # fmt: skip
    if at_the_host:
        time.sleep(0.8)  # the card went in at once: the host is authorising for 2.5 s
    till.hub.kill9()
    time.sleep(2.0)  # the card is presented while the hub is down
    till.hub.start()
    # Before anything else the hub settles the interrupted payment with the terminal.
    wait_for(lambda: all(p["state"] in ("approved", "declined", "aborted")
                         for p in till.hub.api("GET", "/api/v1/payments")[1]["payments"]), 30,
             what="the interrupted payment settled")  # fmt: skip
    return cart_id


def test_kill_9_while_the_terminal_waits_for_the_card_gives_exactly_one_outcome(till: Till) -> None:
    cart_id = killed_mid_payment(till, "card-kill")
    status, sale = pay(till, cart_id, "card-kill", card(2340))  # the cashier finishes the sale
    assert status == 201, sale
    assert len(booked(till)) == 1, booked(till)  # charged once, whatever the terminal did meanwhile


@pytest.fixture
def impatient_till(tmp_path: Path, sim: PrinterSim) -> Iterator[Till]:
    """A till whose card terminal gives the card holder two seconds."""
    terminal = DeviceSim("terminal", "zvt").start()
    card_device = {"id": "card-t1", "kind": "payment_terminal", "driver": "zvt",
                   "url": f"tcp://127.0.0.1:{terminal.port}", "role": "payment_terminal", "terminal": "T1",
                   "options": {"card_timeout": 2.0}}  # fmt: skip
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5), card_device])
    try:
        hub.start()
        wait_for(
            lambda: hub.api("GET", "/api/v1/devices/card-t1")[1]["status"] == "online", 15, what="terminal"
        )
        yield Till(hub, terminal, sim, seed_catalog(hub))
    finally:
        hub.stop()
        terminal.stop()


def test_a_card_that_never_comes_times_out_without_a_sale_and_the_next_try_pays_once(
    impatient_till: Till,
) -> None:
    till = impatient_till
    cart_id = cart_with(till)
    till.terminal.control("hang 4000")
    till.terminal.control("next timeout")
    status, body = pay(till, cart_id, "card-timeout", card(2340))
    assert status == 402 and body["error"]["code"] in ("card_aborted", "card_result_unknown"), body
    assert till.hub.api("GET", f"/api/v1/carts/{cart_id}")[1]["state"] == "open"
    assert booked(till) == []
    time.sleep(4.5)  # the terminal gives up on the card by itself
    status, sale = pay(till, cart_id, "card-timeout", card(2340))
    assert status == 201, sale
    assert len(booked(till)) == 1
    states = [p["state"] for p in till.hub.api("GET", "/api/v1/payments")[1]["payments"]]
    assert states[0] == "approved" and "unknown" not in states


def test_a_payment_no_sale_was_completed_with_is_reversed_once(till: Till) -> None:
    cart_id = killed_mid_payment(till, "walked-away", at_the_host=True)
    payment = till.hub.api("GET", "/api/v1/payments")[1]["payments"][0]
    assert (payment["state"], payment["sale_id"]) == ("approved", None)
    # The customer walks away: the cashier gives the money back on the terminal.
    status, reversal = till.hub.api("POST", f"/api/v1/payments/{payment['id']}/reverse", timeout=60)
    assert status == 200, reversal
    assert (reversal["kind"], reversal["state"], reversal["reverses"]) == (
        "reversal",
        "approved",
        payment["id"],
    )
    assert till.hub.api("GET", f"/api/v1/payments/{payment['id']}")[1]["state"] == "reversed"
    journal = till.terminal.json("transactions")
    original = next(t for t in journal if t["receipt_number"] == payment["outcome"]["receipt_number"])
    assert original["reversed"] and [t["kind"] for t in journal].count("reversal") == 1
    # Asked again (a double tap, a lost answer): the same reversal, nothing sent to the terminal.
    again = till.hub.api("POST", f"/api/v1/payments/{payment['id']}/reverse", timeout=60)
    assert again == (200, reversal)
    assert [t["kind"] for t in till.terminal.json("transactions")].count("reversal") == 1
    # The checkout retried with that payment's key charges afresh: the money went back.
    status, sale = pay(till, cart_id, "walked-away", card(2340))
    assert status == 201, sale
    fresh = till.hub.api("GET", "/api/v1/payments?state=approved")[1]["payments"]
    assert [p["sale_id"] for p in fresh if p["kind"] == "payment"] == [sale["id"]]


def test_a_payment_that_paid_a_sale_is_refunded_not_reversed(till: Till) -> None:
    status, sale = pay(till, cart_with(till), "paid-sale", card(2340))
    assert status == 201, sale
    payment = till.hub.api("GET", "/api/v1/payments")[1]["payments"][0]
    status, body = till.hub.api("POST", f"/api/v1/payments/{payment['id']}/reverse")
    assert (status, body["error"]["code"], body["error"]["details"]) == (409, "payment_has_sale",
                                                                          {"sale_id": sale["id"]})  # fmt: skip
    assert till.hub.api("GET", "/api/v1/payments/999")[0] == 404
    assert "reversal" not in [t["kind"] for t in till.terminal.json("transactions")]
