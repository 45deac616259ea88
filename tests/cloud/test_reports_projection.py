"""The projection under odd facts, shifts from their events, and reports that read the config.

A fact that decoded but makes no sense (a quantity of "lots", an absurd amount, shift figures
of the wrong type) is stored and left out of the reports; the batch it came in goes through.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Event
from cloud.db.models_config import ConfigRecord
from cloud.db.models_reports import ReportSale, ReportShift
from cloud.domain.reports import products as products_report
from cloud.domain.reports import projection
from protocols.sync.messages import CashMoved, ShiftClosed, ShiftOpened
from tests.cloud.conftest import Cloud
from tests.cloud.test_reports_support import add_hub, document, make_ingest

ESPRESSO = ("Espresso", 1, "1", 1190, 19)


async def _report(cloud: Cloud, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await cloud.client.get(f"/api/v1/reports/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_malformed_fact_cannot_break_the_batch(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub = await add_hub(cloud, make_ingest(cloud), acme.tenant_id, acme.stores[0])
    good = document(1, [ESPRESSO], [("cash", 1190)])
    lots = msgspec.structs.replace(
        document(2, [ESPRESSO], [("cash", 1190)]),
        lines=[msgspec.structs.replace(good.lines[0], quantity="lots")],
    )
    absurd = msgspec.structs.replace(document(3, [ESPRESSO], [("cash", 1190)]), total=10**17)
    no_zone = msgspec.structs.replace(
        document(4, [ESPRESSO], [("cash", 1190)]), created_at="yesterday", seller="Ana\x00"
    )
    opened = ShiftOpened(shift_id=1, terminal_id="T1", employee="Ana", opening_cash=10000, late_minutes=0,
                         at="2026-11-22T07:00:00+00:00")  # fmt: skip
    bad_close = ShiftClosed(shift_id=1, terminal_id="T1", at="2026-11-22T15:00:00+00:00", auto_closed=False,
                            figures={"cash_sales": "abc"})  # fmt: skip
    outcome = await hub.batch([
        ("sale.completed", good), ("sale.completed", lots), ("sale.completed", absurd),
        ("sale.completed", no_zone), ("shift.opened", opened), ("shift.closed", bad_close),
        ("sale.completed", document(5, [ESPRESSO], [("card", 1190)])),
        ("sale.completed", document(7, [ESPRESSO], [("cash", 1190)], at="9999-12-31T23:59:59-12:00")),
    ])  # fmt: skip
    assert (outcome.stored, outcome.dead_letters) == (8, 0)
    async with cloud.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 8
        numbers = set(await session.scalars(select(ReportSale.number_text)))
        shift = (await session.scalars(select(ReportShift))).one()
    # R-4's time is unreadable (it falls back to when the fact occurred) and its NUL is dropped.
    assert numbers == {"R-1", "R-4", "R-5"}
    assert shift.opening_cash == 10000 and shift.closed_at is None  # the unreadable close left it open
    totals = (await _report(cloud, "sales", acme.headers))["totals"]
    assert (totals["count"], totals["total"]) == (3, 3570)
    # The stream goes on: the next batch is projected as usual.
    assert (await hub.send("sale.completed", document(6, [ESPRESSO], [("cash", 1190)]))).stored == 1
    assert (await _report(cloud, "sales", acme.headers))["totals"]["count"] == 4


async def test_rows_the_database_refuses_fail_alone(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    acme = await cloud.tenancy("Acme")
    hub = await add_hub(cloud, make_ingest(cloud), acme.tenant_id, acme.stores[0])
    real = projection._write

    async def refuses_seq_2(session: AsyncSession, plans: Sequence[projection.EventRows]) -> None:
        await real(session, plans)
        if any(plan.event.seq == 2 for plan in plans):
            await session.execute(text("SELECT * FROM no_such_table"))  # the database says no

    monkeypatch.setattr(projection, "_write", refuses_seq_2)
    docs = [document(n, [ESPRESSO], [("cash", 1190)]) for n in (1, 2, 3)]
    outcome = await hub.batch([("sale.completed", d) for d in docs])
    assert outcome.stored == 3
    sales = await _report(cloud, "sales", acme.headers)
    assert sorted(r["number_text"] for r in sales["receipts"]) == ["R-1", "R-3"]
    assert (sales["totals"]["count"], sales["totals"]["total"]) == (2, 2380)


async def test_shifts_from_open_cash_movements_and_close(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub = await add_hub(cloud, make_ingest(cloud), acme.tenant_id, acme.stores[0])
    at = "2026-11-22T{}:00+00:00".format
    await hub.send("shift.opened", ShiftOpened(shift_id=7, terminal_id="T1", employee="Ana", opening_cash=10000,
                                               late_minutes=0, at=at("07:00")))  # fmt: skip
    await hub.batch([
        ("cash.moved", CashMoved(shift_id=7, movement_id=1, kind="cash_in", amount=500, tender_type="cash",
                                 reason="float", receiver_id=None, at=at("08:00"))),
        ("cash.moved", CashMoved(shift_id=7, movement_id=2, kind="cash_out", amount=200, tender_type="cash",
                                 reason="bank", receiver_id=None, at=at("09:00"))),
    ])  # fmt: skip
    live = (await _report(cloud, "shifts", acme.headers, employee="Ana"))["shifts"]
    assert [(s["cash_in"], s["cash_out"], s["closed_at"], s["duration_s"]) for s in live] == [
        (500, 200, None, None)
    ]
    figures = {"opening_cash": 10000, "receipts": 2, "refunds": 0, "sales_total": 2260, "refunds_total": 0,
               "cash_sales": 1260, "card_sales": 1000, "cash_in": 500, "cash_out": 200, "handovers": 0,
               "postal_cod": 0, "commission": 0, "expected_cash": 11560,
               "tenders": [{"tender_type": "card", "expected": 1000, "counted": 1000, "difference": 0},
                           {"tender_type": "cash", "expected": 11560, "counted": 11500, "difference": -60}]}  # fmt: skip
    await hub.send("shift.closed", ShiftClosed(shift_id=7, terminal_id="T1", at=at("15:30"), auto_closed=False,
                                               figures=figures))  # fmt: skip
    shifts = (await _report(cloud, "shifts", acme.headers, **{"from": "2026-11-22", "to": "2026-11-22"}))[
        "shifts"
    ]
    assert len(shifts) == 1
    s = shifts[0]
    assert (s["employee"], s["terminal_id"], s["opening_cash"], s["cash_sales"], s["card_sales"]) == (
        "Ana", "T1", 10000, 1260, 1000,
    )  # fmt: skip
    assert (s["cash_in"], s["cash_out"], s["expected_cash"], s["counted_cash"], s["difference"]) == (
        500, 200, 11560, 11500, -60,
    )  # fmt: skip
    assert s["duration_s"] == 8 * 3600 + 30 * 60
    csv = await cloud.client.get("/api/v1/reports/shifts", params={"format": "csv"}, headers=acme.headers)
    assert csv.text.splitlines()[1].endswith("5.00,2.00,115.60,115.00,-0.60")


async def _config(cloud: Cloud, tenant_id: uuid.UUID, section: str, key: str, body: dict[str, Any],
                  store_id: str | None = None) -> None:  # fmt: skip
    async with cloud.sessions() as session:
        session.add(ConfigRecord(
            tenant_id=tenant_id, store_id=uuid.UUID(store_id) if store_id else None, scope=store_id or "",
            section=section, key=key, revision=1, deleted=False, body=json.dumps(body),
        ))  # fmt: skip
        await session.commit()


async def test_product_margins_and_campaign_lift_from_the_config(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    store = acme.stores[0]
    hub = await add_hub(cloud, make_ingest(cloud), acme.tenant_id, store)
    cake, tea = ("Cake", 2, "2", 1070, 7), ("Tea", 3, "0.5", 535, 7)
    day = "2026-11-{}T10:00:00+00:00".format
    await hub.batch([
        ("sale.completed", document(1, [ESPRESSO], [("cash", 1190)], at=day("20"))),
        ("sale.completed", document(2, [cake, tea], [("cash", 1605)], at=day("21"))),
        ("sale.completed", document(3, [ESPRESSO], [("cash", 1190)], at=day("01"))),
        ("sale.completed", document(4, [cake, ESPRESSO], [("card", 2260)], at=day("10"))),
    ])  # fmt: skip
    await _config(cloud, acme.tenant_id, "products", "1", {"name": "Espresso", "price": 1190, "cost_price": 300,
                                                           "category_id": 10})  # fmt: skip
    await _config(cloud, acme.tenant_id, "products", "2", {"name": "Cake", "price": 535, "cost_price": 400,
                                                           "category_id": 20})  # fmt: skip
    products = await _report(cloud, "products", acme.headers, limit=2)
    assert products["products"] == 3
    rows = {r["name"]: r for r in products["by_revenue"]["top"] + products["by_revenue"]["bottom"]}
    assert (rows["Espresso"]["quantity"], rows["Espresso"]["revenue"], rows["Espresso"]["cost"]) == (
        "3.000",
        3570,
        900,
    )
    assert (rows["Espresso"]["profit"], rows["Espresso"]["margin_percent"]) == (2670, "74.79")
    assert (rows["Cake"]["quantity"], rows["Cake"]["profit"], rows["Cake"]["margin_percent"]) == (
        "4.000",
        540,
        "25.23",
    )
    assert rows["Tea"]["cost"] is None and rows["Tea"]["margin_percent"] is None
    # No tax rate in the config: the margin stays on the lines' totals, flagged as such.
    assert (rows["Espresso"]["net_revenue"], rows["Espresso"]["tax_known"]) == (3570, False)
    assert [r["name"] for r in products["by_quantity"]["top"]] == ["Cake", "Espresso"]
    assert [r["name"] for r in products["by_quantity"]["bottom"]] == ["Tea", "Espresso"]
    # A store's own cost price wins when the report covers that store.
    await _config(cloud, acme.tenant_id, "products", "1", {"name": "Espresso", "price": 1190, "cost_price": 500},
                  store_id=store)  # fmt: skip
    local = await _report(cloud, "products", acme.headers, store_id=store)
    assert next(r for r in local["by_revenue"]["top"] if r["name"] == "Espresso")["cost"] == 1500

    campaign = {"name": "Autumn", "start_date": "2026-11-20", "end_date": "2026-11-21",
                "data": {"report_plus": [1], "report_dpts": [20], "reference_periods": [
                    {"start_date": "2026-11-01", "end_date": "2026-11-02", "weight": 1},
                    {"start_date": "2026-11-10", "end_date": "2026-11-10", "weight": 3}]}}  # fmt: skip
    await _config(cloud, acme.tenant_id, "campaigns", "5", campaign)
    report = await _report(cloud, "campaigns/5", acme.headers)
    assert report["product_ids"] == [1, 2]
    current = report["campaign_period"]
    assert (current["days"], current["revenue"], current["revenue_per_day"], current["quantity"]) == (
        2,
        2260,
        1130,
        "3.000",
    )
    assert [(p["days"], p["revenue"], p["revenue_per_day"]) for p in report["reference_periods"]] == [
        (2, 1190, 595), (1, 2260, 2260),
    ]  # fmt: skip
    # (1 x 595 + 3 x 2260) / 4 = 1843.75 a day; 1130 against that is -38.71 %.
    assert report["reference_revenue_per_day"] == 1844
    assert report["revenue_lift_percent"] == "-38.71"
    assert report["quantity_lift_percent"] == "-36.84"
    csv = await cloud.client.get(
        "/api/v1/reports/campaigns/5", params={"format": "csv"}, headers=acme.headers
    )
    assert csv.text.splitlines()[1].startswith(
        "campaign,2026-11-20,2026-11-21,1,2,3.000,22.60,11.30,1.500,-38.71"
    )
    missing = await cloud.client.get("/api/v1/reports/campaigns/99", headers=acme.headers)
    assert missing.status_code == 404


def test_tax_is_removed_half_up_to_a_minor_unit() -> None:
    assert products_report.net_of_tax(1190, Decimal(19)) == 1000
    assert products_report.net_of_tax(1189, Decimal(100)) == 595  # 594.5 half up, not half even
    assert products_report.net_of_tax(-1189, Decimal(100)) == -595
    assert products_report.net_of_tax(1070, Decimal(10)) == 973
    assert products_report.net_of_tax(535, Decimal(0)) == 535


async def test_product_margins_are_on_revenue_net_of_tax(cloud: Cloud) -> None:
    acme = await cloud.tenancy("Acme")
    hub = await add_hub(cloud, make_ingest(cloud), acme.tenant_id, acme.stores[0])
    cake, small_cake = ("Cake", 2, "2", 1070, 10), ("Cake", 2, "1", 1055, 10)
    tea, water = ("Tea", 3, "0.5", 535, 0), ("Water", 4, "1", 300, 0)
    await hub.batch([
        ("sale.completed", document(1, [ESPRESSO], [("cash", 1190)])),
        ("sale.completed", document(2, [ESPRESSO, cake], [("card", 2260)])),
        ("sale.completed", document(3, [small_cake, tea, water], [("cash", 1890)])),
    ])  # fmt: skip
    rates = {"1": {"name": "VAT 19", "rate": "19", "inclusive": True},
             "2": {"name": "VAT 7", "rate": "7", "inclusive": True},
             "4": {"name": "Levy 3", "rate": "3.0", "inclusive": True},
             "5": {"name": "Sales tax", "rate": "10", "inclusive": False}}  # fmt: skip
    for key, body in rates.items():
        await _config(cloud, acme.tenant_id, "tax_rates", key, body)
    await _config(cloud, acme.tenant_id, "tax_groups", "7", {"name": "VAT 7 + levy", "rate_ids": [2, 4]})
    products = {"1": {"name": "Espresso", "cost_price": 300, "tax_rate_id": 1},
                "2": {"name": "Cake", "cost_price": 400, "tax_group_id": 7},
                "3": {"name": "Tea", "cost_price": 200, "tax_rate_id": 5},
                "4": {"name": "Water", "cost_price": 100, "tax_rate_id": 99}}  # fmt: skip
    for key, body in products.items():
        await _config(cloud, acme.tenant_id, "products", key, body)
    report = await _report(cloud, "products", acme.headers)
    rows = {r["name"]: r for r in report["by_revenue"]["top"]}
    figures = {
        name: (r["revenue"], r["net_revenue"], r["tax_known"], r["cost"], r["profit"], r["margin_percent"])
        for name, r in rows.items()
    }
    assert figures == {
        # 2 x 1190 paid at 19 % included: 2 x 1000 net; (2000 - 600) / 2000.
        "Espresso": (2380, 2000, True, 600, 1400, "70.00"),
        # 7 % + 3 % of a group, line by line: 1070 -> 972.73 -> 973, 1055 -> 959.09 -> 959.
        "Cake": (2125, 1932, True, 1200, 732, "37.89"),
        # An exclusive rate: the line total is already net.
        "Tea": (535, 535, True, 100, 435, "81.31"),
        # A rate the config does not have: the total as is, flagged.
        "Water": (300, 300, False, 100, 200, "66.67"),
    }
    csv = await cloud.client.get("/api/v1/reports/products", params={"format": "csv"}, headers=acme.headers)
    lines = csv.text.splitlines()
    assert lines[0] == ("ranking,position,product_id,name,category_id,quantity,revenue,net_revenue,tax_known,"
                        "cost,profit,margin_percent")  # fmt: skip
    assert "top by revenue,1,1,Espresso,,2.000,23.80,20.00,yes,6.00,14.00,70.00" in lines
    assert "top by revenue,4,4,Water,,1.000,3.00,3.00,no,1.00,2.00,66.67" in lines
