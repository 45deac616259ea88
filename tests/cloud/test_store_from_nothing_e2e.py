"""End to end, the issue's "done when": an admin sets a store up from nothing through the cloud's
API, its hubs sell with it, and the cloud's reports equal what the hubs sold, to the cent, per
tax rate and per tender; an integrator's endpoint gets every order signed, through retries.

Real processes: Mosquitto with the cloud's password and ACL files, the cloud service (on SQLite
and on PostgreSQL) with its bridge and webhook worker, two claimed ``smartpos-hub serve``
daemons and an HTTP receiver on 127.0.0.1 that refuses each delivery once before it accepts it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.config_authoring import CASHIER_PIN, author_store, store_version, write
from tests.hub.staff.staff_support import Staff
from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess
from tests.support.fleet import HubFleet
from tests.support.procs import wait_for
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def services(tmp_path: Path, db_url: str) -> Iterator[tuple[CloudProcess, WebhookReceiver]]:
    """Broker, cloud (on SQLite and on PostgreSQL) and the integrator's receiver."""
    broker = MosquittoBroker(tmp_path).start()
    cloud = CloudProcess(tmp_path, broker, db_url=db_url)
    # Retries within seconds, not the production schedule of minutes.
    cloud.env["SMARTPOS_CLOUD_WEBHOOK_BACKOFF_S"] = "0.5,1"
    cloud.env["SMARTPOS_CLOUD_WEBHOOK_ALLOW_PRIVATE"] = "true"  # the receiver is on 127.0.0.1
    cloud.start()
    # Each delivery is refused once (an endpoint refusing 20 in a row would be disabled).
    receiver = WebhookReceiver(fail_first=1).start()
    try:
        yield cloud, receiver
    finally:
        receiver.stop()
        cloud.stop()
        broker.stop()


def add(totals: Counter[str], key: str, amount: int) -> None:
    totals[key] += amount


def report(cloud: CloudProcess, name: str) -> Any:
    today = date.today()
    window = f"from={(today - timedelta(days=1)).isoformat()}&to={(today + timedelta(days=1)).isoformat()}"
    status, body = cloud.api("GET", f"/api/v1/reports/{name}?{window}")
    assert status == 200, body
    return body


@pytest.mark.timeout(300)
def test_a_store_set_up_in_the_cloud_sells_on_its_hubs_and_reports_to_the_cent(
    tmp_path: Path, services: tuple[CloudProcess, WebhookReceiver]
) -> None:
    cloud, receiver = services
    store = cloud.new_store()
    created = write(cloud, "POST", "/api/v1/webhooks",
                    {"url": receiver.url,
                     "event_types": ["order.created", "refund.created", "shift.closed", "hub.online", "hub.offline"]})  # fmt: skip
    secret = created["secret"]
    authored = author_store(cloud, store)
    products: dict[str, int] = {}
    for name, price, rate in (
        ("Bread", 350, "7"),
        ("Milk", 129, "7"),
        ("Wine", 899, "19"),
        ("Soap", 245, "19"),
    ):
        body = {"name": name, "price": price, "tax_rate_id": int(authored.taxes[rate]),
                "category_id": int(authored.category), "cost_price": price // 2}  # fmt: skip
        products[name] = int(write(cloud, "POST", "/api/v1/config/products", body)["key"])
    fleet = HubFleet(tmp_path, cloud, store, 2)
    try:
        fleet.start()
        fleet.wait_version(store_version(cloud, store), timeout=60)
        first, second = fleet.hubs.values()

        # What the hubs sold, from their own answers: per rate (tax and base) and per tender.
        tax: Counter[str] = Counter()
        base: Counter[str] = Counter()
        tenders: Counter[str] = Counter()
        grand_total = 0
        sales: list[dict[str, Any]] = []

        def record(sale: dict[str, Any]) -> None:
            nonlocal grand_total
            sales.append(sale)
            grand_total += sale["total"]
            for line in sale["taxes"]:
                add(tax, line["rate"], line["amount"])
                add(base, line["rate"], line["base"])
            for payment in sale["payments"]:
                add(tenders, payment["tender_id"], payment["amount"])

        ana = Staff(first, authored.cashier_num, CASHIER_PIN)
        shift = ana.open_shift(5000)
        record(ana.sell(products["Bread"], 1000, "s1", quantity="2"))  # change given from 10.00
        record(ana.sell(products["Wine"], 899 * 3, "s2", quantity="3", tender="card"))
        record(ana.sell(products["Milk"], 129 * 5, "s3", quantity="5"))
        wine_before = ana.sell(products["Wine"], 899, "s4", tender="card")
        record(wine_before)
        status, refund = ana.api("POST", f"/api/v1/sales/{sales[1]['id']}/refunds", {
            "idempotency_key": "r1", "terminal_id": "T1", "reason": "corked", "tender_id": "card",
            "lines": [{"sale_line_id": sales[1]["lines"][0]["id"], "quantity": "1"}],
        })  # fmt: skip
        assert status == 201, refund
        record(refund)

        # The second hub is off while the price of wine changes; it sells at the new price
        # once it is back, and the sale made before keeps the price it was made at.
        second.stop()
        wine = dict(cloud.api("GET", f"/api/v1/config/products/{products['Wine']}")[1]["body"])
        write(cloud, "PUT", f"/api/v1/config/products/{products['Wine']}", {**wine, "price": 1099})
        changed = store_version(cloud, store)
        wait_for(
            lambda: fleet.versions()[next(iter(fleet.hubs))] == changed,
            30,
            what="the first hub on the new price",
        )
        second.start()
        fleet.wait_version(changed, timeout=60)
        edin = Staff(second, authored.cashier_num, CASHIER_PIN)
        edin.open_shift(0)
        wine_after = edin.sell(products["Wine"], 1099, "t1", tender="card")
        assert wine_after["lines"][0]["unit_price"] == 1099 and wine_before["lines"][0]["unit_price"] == 899
        record(wine_after)
        record(edin.sell(products["Soap"], 245 * 2 + 7, "t2", quantity="2"))
        status, closed = ana.api("POST", f"/api/v1/shifts/{shift['id']}/close",
                                 {"counted": {"cash": 5000 + 1000 - 300 + 645}, "print_report": False})  # fmt: skip
        assert status == 200, closed

        # The cloud's reports, once every fact is in, equal the hubs' own figures.
        wait_for(lambda: report(cloud, "sales")["totals"]["count"] == len(sales), 30, interval=0.3,
                 what="every sale in the cloud's sales report")  # fmt: skip
        totals = report(cloud, "sales")["totals"]
        assert totals["total"] == grand_total
        taxes = report(cloud, "taxes")
        assert set(tax) == {"19", "7"} and set(tenders) == {"cash", "card"}
        assert {r["rate"]: r["tax"] for r in taxes["rates"]} == dict(tax)
        assert {r["rate"]: r["base"] for r in taxes["rates"]} == dict(base)
        days = report(cloud, "end-of-day")["days"]
        by_tender: Counter[str] = Counter()
        for day in days:
            for row in day["tenders"]:
                by_tender[row["tender"]] += row["amount"]
        assert dict(by_tender) == dict(tenders)
        detail = cloud.api("GET", f"/api/v1/reports/sales/{wine_before['uuid']}")[1]
        assert detail["lines"][0]["total"] == 899

        # Every order reached the integrator exactly once, signed, on the second attempt.
        orders = [s for s in sales if s.get("doc_type", "receipt") != "refund"]
        wait_for(lambda: len(receiver.delivered("order.created")) == len(orders), 30, interval=0.2,
                 what="every order delivered to the webhook")  # fmt: skip
        wait_for(lambda: len(receiver.delivered("refund.created")) == 1, 30, what="the refund delivered")
        wait_for(lambda: len(receiver.delivered("shift.closed")) == 1, 30, what="the closed shift delivered")
        delivered = receiver.delivered()
        assert len({r.delivery for r in delivered}) == len(delivered)  # no delivery accepted twice
        for received in delivered:
            assert received.signed_with(secret)
            assert receiver.attempts(received.delivery) == 2
        sold = {r.json()["data"]["uuid"] for r in receiver.delivered("order.created")}
        assert sold == {s["uuid"] for s in orders}
        # The second hub's stop and start, once each, after both first came online.
        second_id = list(fleet.hubs)[1]
        wait_for(lambda: len(receiver.delivered("hub.online")) == 3, 30, what="three hub.online deliveries")
        offline = [r.json()["data"] for r in receiver.delivered("hub.offline")]
        assert [d["hub_id"] for d in offline] == [second_id]
        online = [r.json()["data"]["hub_id"] for r in receiver.delivered("hub.online")]
        assert sorted(online) == sorted([*fleet.hubs, second_id])
    finally:
        fleet.stop()
