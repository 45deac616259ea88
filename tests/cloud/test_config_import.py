"""Products from CSV: dry run, all-or-nothing, row and field named errors, 5,000 rows quickly
(SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

from tests.cloud.config_support import TAX, Config, claim, config_for, product
from tests.cloud.conftest import Cloud

HEADER = "id,name,price,sku,plu,barcodes,category_id,tax_rate_id,cost_price\n"


async def _import(c: Config, csv: str, *, dry_run: bool) -> Any:
    return await c.cloud.client.post(
        "/api/v1/config/products/import",
        params={"dry_run": "true" if dry_run else "false"},
        content=csv.encode(),
        headers={**c.tenancy.headers, "Content-Type": "text/csv"},
    )


async def test_dry_run_reports_and_writes_nothing_then_the_import_writes(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    rate = await c.created("tax_rates", TAX)
    cat = await c.created("categories", {"name": "Drinks"})
    assert (await c.put("products", "500", product("Old tea", 100, sku="TEA"))).status_code == 201
    assert (await c.put("products", "501", product("Cake", 300))).status_code == 201
    before = await c.version()
    csv = HEADER + (
        f",Espresso,2.50,ESP,101,4006381333931|EXTRA-01,{cat},{rate},0.80\n"
        f",Green tea,3,TEA,,,,{rate},\n"  # no id: the product holding SKU TEA is updated
        "501,Cake,3.00,,,,,,\n"  # the same as stored: unchanged
    )
    dry = await _import(c, csv, dry_run=True)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["created"], report["updated"], report["unchanged"], report["errors"]) == (1, 1, 1, [])
    assert report["dry_run"] is True and report["version"] == before
    assert await c.version() == before
    assert (await c.get("config/products")).json()["total"] == 2

    done = await _import(c, csv, dry_run=False)
    assert done.status_code == 200, done.text
    assert (done.json()["created"], done.json()["updated"], done.json()["version"]) == (1, 1, before + 2)
    items = {i["body"]["name"]: i for i in (await c.get("config/products")).json()["items"]}
    espresso = items["Espresso"]["body"]
    assert espresso["price"] == 250 and espresso["cost_price"] == 80 and espresso["plu"] == "101"
    assert espresso["barcodes"] == ["4006381333931", "EXTRA-01"] and espresso["tax_rate_id"] == int(rate)
    assert items["Green tea"]["key"] == "500" and items["Green tea"]["body"]["price"] == 300
    assert int(items["Espresso"]["key"]) > 501
    again = await _import(c, csv.replace(",Espresso,", f"{items['Espresso']['key']},Espresso,"), dry_run=True)
    assert again.json()["unchanged"] == 3


async def test_any_error_names_row_and_field_and_a_real_import_writes_nothing(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    rate = await c.created("tax_rates", TAX)
    await c.put("products", "10", product("Tea", sku="TEA", barcodes=["4006381333931"]))
    before = await c.version()
    csv = HEADER + (
        f",Good,1.00,GOOD,,,,{rate},\n"
        ",Cheap,1.005,,,,,,\n"  # line 3: more decimals than the currency has
        ",Taxed,1,,,,,999,\n"  # line 4: no such tax rate
        ",Clash,1,,,4006381333931,,,\n"  # line 5: barcode of product 10
        ",Twin,1,GOOD,,,,,\n"  # line 6: SKU of line 2
        "abc,Bad id,1,,,,,,\n"  # line 7
        ",,1,,,,,,\n"  # line 8: no name
        ",Plu,1,,0123,,,,\n"  # line 9: PLU may not start with 0
    )
    report = (await _import(c, csv, dry_run=True)).json()
    found = {(e["row"], e["field"]) for e in report["errors"]}
    assert found == {(3, "price"), (4, "tax_rate_id"), (5, "barcodes[0]"), (6, "sku"), (7, "id"), (8, "name"),
                     (9, "plu")}, report["errors"]  # fmt: skip
    assert report["created"] == 1
    failed = await _import(c, csv, dry_run=False)
    assert failed.status_code == 422 and failed.json()["error"]["code"] == "import_failed"
    assert len(failed.json()["error"]["details"]["errors"]) == 7
    assert await c.version() == before
    assert (await c.get("config/products")).json()["total"] == 1
    bad_header = await _import(c, "name,price,colour\nA,1,red\n", dry_run=True)
    assert bad_header.status_code == 400 and bad_header.json()["error"]["details"]["field"] == "colour"
    no_price = await _import(c, "name\nA\n", dry_run=True)
    assert no_price.status_code == 400 and no_price.json()["error"]["details"]["field"] == "price"


async def test_five_thousand_rows_import_quickly_and_reach_the_hub(cloud: Cloud) -> None:
    c = await config_for(cloud, "Alpha")
    rate = await c.created("tax_rates", TAX)
    hub = await claim(c)
    lines = [
        f",Item {i},{i % 100}.{i % 100:02d},SKU-{i},,{4000000000000 + i},,{rate},\n" for i in range(5000)
    ]
    csv = HEADER + "".join(lines)
    started = time.perf_counter()
    done = await _import(c, csv, dry_run=False)
    elapsed = time.perf_counter() - started
    assert done.status_code == 200, done.text[:500]
    assert done.json()["created"] == 5000
    print(f"5000-row import: {elapsed * 1000:.0f} ms")
    assert elapsed < 6.0
    delta = await hub.fetch(0)
    assert len(delta.items) == 5001 and delta.version == 5001
    revisions = [i.revision for i in delta.items if i.section == "products"]
    assert sorted(revisions) == list(range(2, 5002))
    # A second import changing 10 prices takes 10 revisions.
    changed = HEADER + "".join(
        f"{item.key},Item {n},9.99,SKU-{n},,{4000000000000 + n},,{rate},\n"
        for n, item in enumerate(i for i in delta.items if i.section == "products")
        if n < 10
    )
    assert (await _import(c, changed, dry_run=False)).json()["updated"] == 10
    assert len((await hub.fetch(5001)).items) == 10
