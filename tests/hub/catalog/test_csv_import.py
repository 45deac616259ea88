"""CSV import and export: mapping, dry run with every bad row's line and reason, all-or-nothing,
skipping bad rows, matching by SKU and e-mail, and a round trip with Bosnian letters."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.procs import HubProcess


@pytest.fixture
def hub(tmp_path: Any) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path, []).start()
    try:
        process.api("POST", "/api/v1/tax-rates", {"name": "PDV", "rate": "17"}, token=process.admin_token)
        process.api(
            "POST",
            "/api/v1/units",
            {"name": "kilogram", "abbreviation": "kg", "decimals": 3},
            token=process.admin_token,
        )
        yield process
    finally:
        process.stop()


def import_products(hub: HubProcess, text: str, **options: Any) -> tuple[int, Any]:
    return hub.api("POST", "/api/v1/products/import", {"csv": text, **options}, token=hub.admin_token)


def product_names(hub: HubProcess) -> list[str]:
    return [p["name"] for p in hub.api("GET", "/api/v1/products?limit=1000")[1]["products"]]


BAD_FILE = """Naziv;Cijena;Šifra;Barkod;Kategorija;Jedinica;Porez
Ćevapi;11,70;CEV;3870000000013;Roštilj;;PDV
Čokolada;2.505;COK;;Slatkiši;;
Sir;18,90;SIR;;;lb;
;1,00;EMPTY;;;;
Đevrek;1,20;DEV;4006381333932;Pekara;;
Žito;0,80;ZIT;;;;17
"""


def test_dry_run_reports_every_bad_row_and_changes_nothing(hub: HubProcess) -> None:
    status, report = import_products(hub, BAD_FILE, dry_run=True)
    assert status == 200, report
    assert (report["rows"], report["created"], report["skipped"]) == (6, 2, 4)
    assert [(e["line"], e["code"]) for e in report["errors"]] == [
        (3, "invalid_value"),  # 2.505: more than 2 decimals
        (4, "unknown_unit"),
        (5, "missing_name"),
        (6, "bad_check_digit"),
    ]
    assert "2.505" in report["errors"][0]["reason"]
    assert product_names(hub) == []
    assert hub.api("GET", "/api/v1/categories")[1] == []  # categories it would create: rolled back too


def test_one_bad_row_means_nothing_is_imported_unless_skipping(hub: HubProcess) -> None:
    status, error = import_products(hub, BAD_FILE)
    assert status == 422 and error["error"]["code"] == "import_failed"
    assert len(error["error"]["details"]["errors"]) == 4
    assert product_names(hub) == []
    status, report = import_products(hub, BAD_FILE, skip_bad_rows=True)
    assert status == 200 and report["created"] == 2 and report["skipped"] == 4
    assert product_names(hub) == ["Ćevapi", "Žito"]
    cevapi = hub.api("GET", "/api/v1/barcodes/3870000000013")[1]
    assert cevapi["price"] == 1170 and cevapi["tax_rate_id"] is not None


def test_mapping_and_update_by_sku(hub: HubProcess) -> None:
    text = "Article,Retail,Code,Weighed\nKafa,5.00,K1,no\nSir trapist,18.90,S1,yes\n"
    mapping = {"Article": "name", "Retail": "price", "Code": "sku", "Weighed": "track_stock"}
    status, report = import_products(hub, text, mapping=mapping)
    assert status == 200 and report["created"] == 2, report
    status, report = import_products(hub, "Article,Retail,Code\nKafa,5.50,K1\n", mapping=mapping)
    assert status == 200 and (report["created"], report["updated"]) == (0, 1)
    assert hub.api("GET", "/api/v1/products?search=K1")[1]["products"][0]["price"] == 550
    bad = import_products(hub, "A,B\nx,y\n", mapping={"A": "colour"})
    assert bad[0] == 422 and bad[1]["error"]["code"] == "unknown_field"


def test_export_then_import_round_trips(hub: HubProcess) -> None:
    rows = "name;price;sku;barcodes;category;unit;stock;track_stock\nŠljivovica đ;25,00;SLJ;3870000000020|96385074;Pića;;12;yes\nSir;18,90;SIR;;Mliječni;kg;2.5;yes\n"
    assert import_products(hub, rows)[0] == 200
    status, exported = hub.api_raw("GET", "/api/v1/products/export.csv")
    assert status == 200
    parsed = list(csv.DictReader(io.StringIO(exported.decode("utf-8"))))
    assert [(r["name"], r["price"], r["barcodes"], r["category"], r["stock"]) for r in parsed] == [
        ("Sir", "18.90", "", "Mliječni", "2.5"),
        ("Šljivovica đ", "25.00", "3870000000020|96385074", "Pića", "12"),
    ]
    status, report = import_products(hub, exported.decode("utf-8"))
    assert status == 200 and (report["created"], report["updated"], report["skipped"]) == (0, 2, 0)


def test_customers_import_matches_by_email(hub: HubProcess) -> None:
    text = "Ime,E-mail,Telefon,Grad\nAmra Hodžić,amra@example.ba,061111222,Sarajevo\nBad,not-mail,,\n"
    url = "/api/v1/customers/import"
    status, report = hub.api("POST", url, {"csv": text, "skip_bad_rows": True}, token=hub.admin_token)
    assert status == 200 and report["created"] == 1 and [e["line"] for e in report["errors"]] == [3]
    again = "Ime,E-mail,Grad\nAmra H.,AMRA@example.ba,Mostar\n"
    status, report = hub.api("POST", url, {"csv": again}, token=hub.admin_token)
    assert status == 200 and report["updated"] == 1
    status, exported = hub.api_raw("GET", "/api/v1/customers/export.csv", token=hub.admin_token)
    assert "Amra H.,amra@example.ba" in exported.decode() or "Amra H." in exported.decode()


def test_bad_levels_are_row_errors_and_an_archived_product_comes_back(hub: HubProcess) -> None:
    assert import_products(hub, "name,price,sku\nKafa,5.00,K1\n")[0] == 200
    kafa = hub.api("GET", "/api/v1/products?search=K1")[1]["products"][0]
    assert hub.api("DELETE", f"/api/v1/products/{kafa['id']}", token=hub.admin_token)[0] == 200
    text = 'name,price,sku,stock,min_stock\nKafa,"5,50",K1,,\nČaj,2,C1,abc,\nSok,1,S1,1,-2\n'
    status, report = import_products(hub, text, skip_bad_rows=True)
    assert status == 200 and (report["created"], report["updated"]) == (0, 1), report
    assert [(e["line"], e["code"]) for e in report["errors"]] == [
        (3, "invalid_value"),
        (4, "validation_failed"),
    ]
    assert "not a number" in report["errors"][0]["reason"]
    again = hub.api("GET", f"/api/v1/products/{kafa['id']}")[1]
    assert (again["active"], again["price"]) == (True, 550)
    # Customers' personal data leaves the hub only with the catalog permission.
    assert hub.api_raw("GET", "/api/v1/customers/export.csv")[0] == 403
