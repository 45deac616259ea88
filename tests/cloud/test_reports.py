"""Reports from facts fed through the real ingest: exact totals, filters, formats, isolation.

The mix, for tenant Acme (business dates in each store's zone):

* Berlin store: R-1 espresso 11.90 (19 %) cash, by Ana; R-2 cake 2 x 10.70 (7 %) + espresso
  11.90, paid 10.00 card + 12.60 cash, by Ben; R-3 refund of R-1 (-11.90 cash), by Ana; R-4 a
  training sale of 50.00 (never counted); R-6 espresso 11.90 at 00:30 local on the 23rd, paid
  20.00 cash with 8.10 change.
* New York store: R-5 tea 0.5 x 5.35 (7 %) by card, by Cy, at 03:00 UTC on the 23rd, which is
  still the 22nd in New York.

On the 22nd: 4 documents (3 sales, 1 refund), total 27.95, tax 2.95 (19 %: base 10.00 tax 1.90;
7 %: base 15.00 tax 1.05), cash 12.60, card 15.35.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PdfReader

from cloud.domain.reports import controllers
from cloud.domain.reports.csv_export import SALES_HEADER
from tests.cloud.conftest import Cloud
from tests.cloud.test_reports_support import FeedHub, add_hub, add_store, document, make_ingest

DAY = {"from": "2026-11-22", "to": "2026-11-22"}
BOTH_DAYS = {"from": "2026-11-22", "to": "2026-11-23"}


@dataclass
class Seeded:
    headers: dict[str, str]
    berlin: str
    new_york: str
    hub: FeedHub
    uuids: dict[str, str]


@pytest.fixture
async def seeded(cloud: Cloud) -> Seeded:
    acme = await cloud.tenancy("Acme")
    berlin = acme.stores[0]
    new_york = await add_store(cloud, acme.headers, "Acme NYC", timezone="America/New_York")
    ingest = make_ingest(cloud)
    hub_b = await add_hub(cloud, ingest, acme.tenant_id, berlin)
    hub_n = await add_hub(cloud, ingest, acme.tenant_id, new_york)
    espresso = ("Espresso", 1, "1", 1190, 19)
    docs = {
        "R-1": document(1, [espresso], [("cash", 1190)], at="2026-11-22T10:00:00+00:00"),
        "R-2": document(2, [("Cake", 2, "2", 1070, 7), espresso], [("card", 1000), ("cash", 1260)], seller="Ben",
                        at="2026-11-22T12:00:00+00:00"),
        "R-3": document(3, [("Espresso", 1, "-1", -1190, 19)], [("cash", -1190)], doc_type="refund",
                        at="2026-11-22T15:00:00+00:00"),
        "R-4": document(4, [("Cake", 2, "10", 5000, 19)], [("cash", 5000)], training=True,
                        at="2026-11-22T16:00:00+00:00"),
        "R-6": document(6, [espresso], [("cash", 1190)], change=810, at="2026-11-22T23:30:00+00:00"),
    }  # fmt: skip
    outcome = await hub_b.batch(
        [("sale.refunded" if n == "R-3" else "sale.completed", d) for n, d in docs.items()]
    )
    assert outcome.stored == 5
    tea = document(
        5, [("Tea", 3, "0.5", 535, 7)], [("card", 535)], seller="Cy", at="2026-11-23T03:00:00+00:00"
    )
    assert (await hub_n.send("sale.completed", tea)).stored == 1
    uuids = {name: d.uuid for name, d in docs.items()} | {"R-5": tea.uuid}
    return Seeded(acme.headers, berlin, new_york, hub_b, uuids)


async def get(cloud: Cloud, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await cloud.client.get(f"/api/v1/reports/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_totals_per_rate_and_tender_are_exact(cloud: Cloud, seeded: Seeded) -> None:
    sales = await get(cloud, "sales", seeded.headers, **DAY)
    assert sales["totals"] == {"count": 4, "sales_count": 3, "refund_count": 1, "gross": 2795, "discounts": 0,
                               "net": 2500, "tax": 295, "total": 2795, "refund_total": -1190}  # fmt: skip
    assert [r["number_text"] for r in sales["receipts"]] == ["R-5", "R-3", "R-2", "R-1"]
    taxes = await get(cloud, "taxes", seeded.headers, **DAY)
    assert [(r["rate"], r["inclusive"], r["base"], r["tax"]) for r in taxes["rates"]] == [
        ("7", True, 1500, 105),
        ("19", True, 1000, 190),
    ]
    assert (taxes["base"], taxes["tax"]) == (2500, 295)
    eod = await get(cloud, "end-of-day", seeded.headers, **BOTH_DAYS)
    days = {(d["store_name"], d["business_date"]): d for d in eod["days"]}
    assert set(days) == {("Acme Main", "2026-11-22"), ("Acme Main", "2026-11-23"), ("Acme NYC", "2026-11-22")}
    main = days[("Acme Main", "2026-11-22")]
    assert (main["totals"]["count"], main["totals"]["total"], main["totals"]["refund_total"]) == (
        3,
        2260,
        -1190,
    )
    assert {t["tender"]: t["amount"] for t in main["tenders"]} == {"cash": 1260, "card": 1000}
    assert {t["rate"]: (t["base"], t["tax"]) for t in main["taxes"]} == {"7": (1000, 70), "19": (1000, 190)}
    late = days[("Acme Main", "2026-11-23")]
    assert {t["tender"]: t["amount"] for t in late["tenders"]} == {"cash": 1190}  # change never counts
    assert days[("Acme NYC", "2026-11-22")]["totals"]["total"] == 535
    stores = await get(cloud, "stores", seeded.headers, **DAY)
    assert [(s["store_name"], s["totals"]["total"]) for s in stores["stores"]] == [
        ("Acme Main", 2260),
        ("Acme NYC", 535),
    ]
    assert stores["grand_total"]["total"] == 2795 and stores["grand_total"]["tax"] == 295
    employees = await get(cloud, "employees", seeded.headers, **DAY)
    assert [(e["seller"], e["transactions"], e["total"], e["average_ticket"]) for e in employees["employees"]] == [
        ("Ben", 1, 2260, 2260), ("Cy", 1, 535, 535), ("Ana", 2, 0, 0),
    ]  # fmt: skip


async def test_filters_narrow_every_report(cloud: Cloud, seeded: Seeded) -> None:
    card = await get(cloud, "sales", seeded.headers, tender="card", **DAY)
    assert card["totals"]["count"] == 2 and card["totals"]["total"] == 2795
    assert {r["number_text"] for r in card["receipts"]} == {"R-2", "R-5"}
    ben = await get(cloud, "sales", seeded.headers, employee="Ben", **BOTH_DAYS)
    assert (ben["totals"]["count"], ben["totals"]["total"]) == (1, 2260)
    nyc = await get(cloud, "sales", seeded.headers, store_id=seeded.new_york, **BOTH_DAYS)
    assert [r["number_text"] for r in nyc["receipts"]] == ["R-5"]
    both = await get(cloud, "stores", seeded.headers, store_id=[seeded.berlin, seeded.new_york], **BOTH_DAYS)
    assert both["grand_total"]["total"] == 3985
    late = await get(cloud, "sales", seeded.headers, **{"from": "2026-11-23", "to": "2026-11-23"})
    assert [r["number_text"] for r in late["receipts"]] == ["R-6"]
    cash_tax = await get(cloud, "taxes", seeded.headers, tender="cash", store_id=seeded.berlin, **DAY)
    assert {r["rate"]: r["tax"] for r in cash_tax["rates"]} == {"19": 190, "7": 70}
    paged = await get(cloud, "sales", seeded.headers, page=2, page_size=3, **BOTH_DAYS)
    assert [r["number_text"] for r in paged["receipts"]] == ["R-2", "R-1"] and paged["totals"]["count"] == 5
    detail = await get(cloud, f"sales/{seeded.uuids['R-2']}", seeded.headers)
    assert [(x["name"], x["quantity"], x["total"]) for x in detail["lines"]] == [("Cake", "2.000", 1070),
                                                                                 ("Espresso", "1.000", 1190)]  # fmt: skip
    assert {p["tender_id"]: p["amount"] for p in detail["payments"]} == {"card": 1000, "cash": 1260}
    training = await get(cloud, f"sales/{seeded.uuids['R-4']}", seeded.headers)
    assert training["training"] is True


BAD_FILTERS = [
    ({"from": "2026-11-23", "to": "2026-11-22"}, "invalid_date_range"),
    ({"from": "22.11.2026"}, "invalid_date"),
    ({"to": "2026-02-30"}, "invalid_date"),
    ({"format": "xml"}, "unsupported_format"),
    ({"store_id": "not-a-uuid"}, "invalid_store_id"),
    ({"page": "0"}, "invalid_page"),
]


async def test_bad_filters_are_400_with_a_code(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    for params, code in BAD_FILTERS:
        response = await cloud.client.get("/api/v1/reports/sales", params=params, headers=acme.headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == code, params
    pdf = await cloud.client.get("/api/v1/reports/employees", params={"format": "pdf"}, headers=acme.headers)
    assert pdf.status_code == 400 and pdf.json()["error"]["code"] == "format_not_available"


async def test_csv_and_pdf(cloud: Cloud, seeded: Seeded) -> None:
    response = await cloud.client.get(
        "/api/v1/reports/taxes", params={**DAY, "format": "csv"}, headers=seeded.headers
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [["rate", "name", "inclusive", "documents", "base", "tax"],
                    ["7", "VAT 7%", "yes", "2", "15.00", "1.05"], ["19", "VAT 19%", "yes", "3", "10.00", "1.90"]]  # fmt: skip
    by_accept = await cloud.client.get(
        "/api/v1/reports/sales", params=DAY, headers={**seeded.headers, "Accept": "text/csv"}
    )
    sales = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert {r["number"]: r["total"] for r in sales} == {
        "R-1": "11.90",
        "R-2": "22.60",
        "R-3": "-11.90",
        "R-5": "5.35",
    }
    for path in ("end-of-day", "taxes", "shifts", "sales"):
        pdf = await cloud.client.get(
            f"/api/v1/reports/{path}", params={**DAY, "format": "pdf"}, headers=seeded.headers
        )
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", pdf.text
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "2026-11-22" in text
        if path == "end-of-day":
            assert "Acme Main" in text and "22.60" in text and "-11.90" in text
        if path == "taxes":
            assert "1.05" in text and "15.00" in text


async def test_tenants_see_only_their_own(cloud: Cloud, seeded: Seeded) -> None:
    other = await cloud.tenancy("Other")
    own = await get(cloud, "sales", other.headers, **BOTH_DAYS)
    assert own["totals"]["count"] == 0 and own["receipts"] == []
    for path in ("sales", "end-of-day", "taxes", "shifts", "products", "employees", "stores"):
        response = await cloud.client.get(
            f"/api/v1/reports/{path}", params={"store_id": seeded.berlin}, headers=other.headers
        )
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    drill = await cloud.client.get(f"/api/v1/reports/sales/{seeded.uuids['R-1']}", headers=other.headers)
    assert drill.status_code == 404
    anonymous = await cloud.client.get("/api/v1/reports/sales")
    assert anonymous.status_code == 401


async def test_redelivered_and_repeated_facts_count_once(cloud: Cloud, seeded: Seeded) -> None:
    before = await get(cloud, "sales", seeded.headers, **BOTH_DAYS)
    outcome = await seeded.hub.resend(2)
    assert outcome.duplicates == 1 and outcome.stored == 0
    # The same document under a new seq (a hub that re-sent it after a restore) is not counted again.
    again = seeded.hub.sent[1]
    payload = again[again.index(b'"payload":') + len(b'"payload":') : -1]
    assert (await seeded.hub.send("sale.completed", payload)).stored == 1
    after = await get(cloud, "sales", seeded.headers, **BOTH_DAYS)
    assert after["totals"] == before["totals"]
    assert after["totals"]["count"] == 5 and after["totals"]["total"] == 3985


async def test_manager_reads_reports(cloud: Cloud, seeded: Seeded) -> None:
    detail = await get(cloud, f"sales/{seeded.uuids['R-1']}", seeded.headers)
    assert detail["hub_id"] == seeded.hub.topics.hub  # the drill-down names the hub it came from
    acme_id = await _tenant_of(cloud, seeded)
    await cloud.user(acme_id, "manager@acme.example", role="manager")
    headers = await cloud.login("manager@acme.example")
    assert (await get(cloud, "end-of-day", headers, **DAY))["days"]


async def _tenant_of(cloud: Cloud, seeded: Seeded) -> uuid.UUID:
    me = await cloud.client.get(f"/api/v1/stores/{seeded.berlin}", headers=seeded.headers)
    return uuid.UUID(me.json()["tenant_id"])


async def test_sales_csv_holds_every_receipt_not_one_page(
    cloud: Cloud, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 2 make the stream read three keyset pages for the five documents.
    monkeypatch.setattr(controllers, "CSV_CHUNK", 2)
    response = await cloud.client.get(
        "/api/v1/reports/sales", params={**BOTH_DAYS, "format": "csv", "page_size": 1}, headers=seeded.headers
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="sales.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["number"] for r in rows] == ["R-6", "R-5", "R-3", "R-2", "R-1"]
    assert len({r["sale_uuid"] for r in rows}) == 5
    card = await cloud.client.get(
        "/api/v1/reports/sales", params={**DAY, "format": "csv", "tender": "card"}, headers=seeded.headers
    )
    assert sorted(r["number"] for r in csv.DictReader(io.StringIO(card.text))) == ["R-2", "R-5"]
    nothing = await cloud.client.get(
        "/api/v1/reports/sales", params={"from": "2026-01-01", "to": "2026-01-02", "format": "csv"},
        headers=seeded.headers,
    )  # fmt: skip
    assert nothing.text.splitlines() == [",".join(SALES_HEADER)]
    json_page = await get(cloud, "sales", seeded.headers, page_size=2, **BOTH_DAYS)
    assert len(json_page["receipts"]) == 2  # JSON stays paginated


async def test_sales_csv_of_another_tenants_store_is_404(cloud: Cloud, seeded: Seeded) -> None:
    other = await cloud.tenancy("Other")
    response = await cloud.client.get(
        "/api/v1/reports/sales", params={"store_id": seeded.berlin, "format": "csv"}, headers=other.headers
    )
    assert response.status_code == 404


async def test_sales_pdf_is_capped_and_says_so(
    cloud: Cloud, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    def text_of(content: bytes) -> str:
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)

    full = await cloud.client.get(
        "/api/v1/reports/sales", params={**BOTH_DAYS, "format": "pdf", "page_size": 1}, headers=seeded.headers
    )
    text = text_of(full.content)
    assert all(f"R-{n}" in text for n in (1, 2, 3, 5, 6)) and "TRUNCATED" not in text
    monkeypatch.setattr(controllers, "PDF_MAX_RECEIPTS", 3)
    capped = await cloud.client.get(
        "/api/v1/reports/sales", params={**BOTH_DAYS, "format": "pdf"}, headers=seeded.headers
    )
    assert capped.status_code == 200
    text = text_of(capped.content)
    assert "TRUNCATED" in text and "first 3 of 5 receipts" in text
    assert "R-6" in text and "R-3" in text and "R-1" not in text


async def test_sales_csv_keyset_breaks_ties_by_id(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    acme = await cloud.tenancy("Acme")
    hub = await add_hub(cloud, make_ingest(cloud), acme.tenant_id, acme.stores[0])
    same_time = "2026-11-22T10:00:00+00:00"
    docs = [
        document(n, [("Espresso", 1, "1", 1190, 19)], [("cash", 1190)], at=same_time) for n in range(1, 8)
    ]
    assert (await hub.batch([("sale.completed", d) for d in docs])).stored == 7
    monkeypatch.setattr(controllers, "CSV_CHUNK", 3)
    response = await cloud.client.get(
        "/api/v1/reports/sales", params={**DAY, "format": "csv"}, headers=acme.headers
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["sale_uuid"] for r in rows) == sorted(d.uuid for d in docs)
