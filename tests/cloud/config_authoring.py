"""A store's configuration authored through the cloud's API, as an admin sets one up from nothing.

Shared by the end-to-end push tests and the push benchmark: taxes, tenders, a category, the
store's settings, an employee, and products (one by one, or 5,000 through the CSV import).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.cloud_proc import CloudProcess

CASHIER_PIN = "4711"


@dataclass
class Authored:
    """Keys the cloud assigned, and the config version after the last write."""

    taxes: dict[str, str] = field(default_factory=dict)  # "19" -> key
    category: str = ""
    cashier_num: int = 7
    version: int = 0


def write(cloud: CloudProcess, method: str, path: str, body: Any = None) -> dict[str, Any]:
    status, answer = cloud.api(method, path, body)
    assert status in (200, 201), (method, path, status, answer)
    return dict(answer) if isinstance(answer, dict) else {"answer": answer}


def store_version(cloud: CloudProcess, store_id: str) -> int:
    status, answer = cloud.api("GET", f"/api/v1/stores/{store_id}/config")
    assert status == 200, answer
    return int(answer["version"])


def author_store(cloud: CloudProcess, store_id: str) -> Authored:
    """Two VAT rates, cash and card, a category, the store's settings and one cashier."""
    done = Authored()
    for rate, name, default in (("19", "VAT 19 %", True), ("7", "VAT 7 %", False)):
        body = {"name": name, "rate": rate, "inclusive": True, "is_default": default}
        done.taxes[rate] = str(write(cloud, "POST", "/api/v1/config/tax_rates", body)["key"])
    write(cloud, "PUT", "/api/v1/config/tenders/cash", {
        "name": "Cash", "tender_type": "cash", "cashdrawer": "force_open", "change_type": "tender",
        "change_tender": "cash", "over_tender": True, "sort_order": 1,
    })  # fmt: skip
    write(
        cloud,
        "PUT",
        "/api/v1/config/tenders/card",
        {"name": "Card", "tender_type": "card", "eft": True, "sort_order": 2},
    )
    done.category = str(write(cloud, "POST", "/api/v1/config/categories", {"name": "Grocery"})["key"])
    # Shifts open at any hour in tests: late and early arrival have tests of their own.
    write(cloud, "PUT", "/api/v1/config/store_settings/store", {
        "store_name": "Main street", "business_name": "Test Retail GmbH", "currency": "EUR", "currency_symbol": "€",
        "language": "de", "timezone": "Europe/Berlin", "late_threshold_min": 1440, "early_threshold_min": 1440,
    })  # fmt: skip
    write(cloud, "POST", "/api/v1/config/employees",
          {"cashier_num": done.cashier_num, "name": "Ana Kasse", "role": "manager", "pin": CASHIER_PIN})  # fmt: skip
    done.version = store_version(cloud, store_id)
    return done


def catalog_csv(count: int, authored: Authored, *, price: int = 199) -> bytes:
    """``count`` products; every tenth at the reduced rate. Prices are major units in the CSV."""
    rows = ["name,price,sku,barcodes,category_id,tax_rate_id,cost_price"]
    for n in range(1, count + 1):
        rate = authored.taxes["7" if n % 10 == 0 else "19"]
        cents = price + n % 50
        rows.append(
            f"Item {n:05d},{cents // 100}.{cents % 100:02d},SKU-{n:05d},,{authored.category},{rate},0.50"
        )
    return ("\n".join(rows) + "\n").encode()


def import_csv(cloud: CloudProcess, data: bytes, *, dry_run: bool = False) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{cloud.url}/api/v1/config/products/import?dry_run={'true' if dry_run else 'false'}",
        data=data, method="POST",
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {cloud.token}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=120) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def products_by_sku(cloud: CloudProcess) -> dict[str, dict[str, Any]]:
    """Every live product item by SKU (paging through the list)."""
    found: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        status, page = cloud.api("GET", f"/api/v1/config/products?limit=500&offset={offset}")
        assert status == 200, page
        items = page["items"] if isinstance(page, dict) else page
        for item in items:
            found[item["body"].get("sku") or item["key"]] = item
        if len(items) < 500:
            return found
        offset += 500


def corrupt_item(cloud: CloudProcess, section: str, key: str, body: dict[str, Any]) -> None:
    """Write an item straight into the cloud's database, past the API's checks, at a new revision:
    what a cloud bug or an older cloud release could send. The bridge sees the counter move."""

    async def corrupt() -> None:
        engine = create_async_engine(cloud.db_url)
        try:
            async with engine.begin() as conn:
                revision = (
                    int((await conn.execute(text("SELECT revision FROM config_counters"))).scalar_one()) + 1
                )
                await conn.execute(text("UPDATE config_counters SET revision = :r"), {"r": revision})
                changed = await conn.execute(
                    text("UPDATE config_items SET body = :body, revision = :r "
                         "WHERE section = :section AND key = :key AND scope = ''"),
                    {"body": json.dumps(body), "r": revision, "section": section, "key": key},
                )  # fmt: skip
                assert changed.rowcount == 1, f"no tenant-wide {section} {key} to corrupt"
        finally:
            await engine.dispose()

    asyncio.run(corrupt())
