"""A hub's domain services in process, wired to the cloud config the way the daemon wires them,
and config deltas built from plain dicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from hub.db.database import Database
from hub.domain.catalog.service import CatalogService
from hub.domain.cloud_config import CloudConfig
from hub.domain.events import EventLog
from hub.domain.infocodes.service import Infocodes
from hub.domain.print_jobs import PrintJobs
from hub.domain.sales import SalesModule, build_sales
from hub.domain.sales.checkout import Devices
from hub.domain.sales.schemas import CartCreate, Checkout, LineAdd, SaleView
from hub.domain.sales.tenders import PaymentRequest
from hub.domain.staff.pins import HASHER
from hub.domain.staff.service import StaffService
from hub.domain.store_settings import StoreSettingsService
from hub.domain.targets import SalesTargets
from protocols.sync.config import ConfigDelta, decode_delta

ME = "test"
PIN_HASH = HASHER.hash("1234")


def ean13(first12: str) -> str:
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12)) % 10) % 10
    return first12 + str(check)


@dataclass
class Store:
    db: Database
    settings: StoreSettingsService
    catalog: CatalogService
    sales: SalesModule
    staff: StaffService
    infocodes: Infocodes
    targets: SalesTargets
    config: CloudConfig
    events: EventLog

    async def sell(
        self, key: str, product_id: int, variant_id: int | None = None, pay: int = 100_000
    ) -> SaleView:
        """A one-line cash sale of ``product_id`` (the change goes back)."""
        cart = await self.sales.carts.create(CartCreate(terminal_id="T1"), actor=ME)
        await self.sales.carts.add_line(cart.id, LineAdd(product_id=product_id, variant_id=variant_id))
        sale, _ = await self.sales.checkout.checkout(
            cart.id,
            Checkout(idempotency_key=key, payments=[PaymentRequest(tender_id="cash", amount=pay)]),
            actor=ME,
        )
        return sale


@asynccontextmanager
async def open_store(path: Path) -> AsyncIterator[Store]:
    db = Database(path / "hub.db")
    await db.open()
    try:
        events = EventLog(db)
        settings = StoreSettingsService(db)
        catalog = CatalogService(db, settings)
        infocodes = Infocodes(db)
        sales = build_sales(
            db,
            events,
            PrintJobs(db, events),
            settings,
            catalog.adapter,
            Devices(frozenset(), frozenset()),
            email=None,
            infocodes=infocodes,
        )
        staff = StaffService(db)
        config = CloudConfig(
            db,
            invalidate=[
                catalog.adapter.invalidate,
                settings.invalidate,
                sales.checkout.tenders.invalidate,
                staff.invalidate,
                infocodes.invalidate,
            ],
            events=events,
        )
        yield Store(
            db, settings, catalog, sales, staff, infocodes, SalesTargets(db, settings), config, events
        )
    finally:
        await db.close()


def item(section: str, key: str | int, body: dict[str, Any] | None, revision: int = 1) -> dict[str, Any]:
    """An item; ``body`` None is a tombstone."""
    found: dict[str, Any] = {"section": section, "key": str(key), "revision": revision}
    if body is None:
        found["deleted"] = True
    else:
        found["body"] = body
    return found


def delta(
    version: int, items: list[dict[str, Any]], *, since: int = 0, store: str = "store-1"
) -> ConfigDelta:
    return decode_delta(delta_bytes(version, items, since=since, store=store))


def delta_bytes(
    version: int, items: list[dict[str, Any]], *, since: int = 0, store: str = "store-1"
) -> bytes:
    envelope = {
        "v": 1,
        "store": store,
        "version": version,
        "since": since,
        "full": since == 0,
        "items": items,
    }
    return msgspec.json.encode(envelope)


CEVAPI, SOK, SIR = 100, 101, 102
CEVAPI_BIG, SOK_HALF, SIR_YOUNG = 1000, 1001, 1002


def product(name: str, price: int, **fields: Any) -> dict[str, Any]:
    return {"name": name, "price": price, **fields}


def full_config(version: int = 5, *, cevapi_price: int = 1170) -> list[dict[str, Any]]:
    """A whole store: taxes, units, categories, three products with variants and barcodes,
    tenders, a role, an employee, an infocode, a target, the settings and a layout."""
    return [
        item("tax_rates", 1, {"name": "PDV", "rate": "17", "is_default": True}),
        item("tax_rates", 2, {"name": "Oslobođeno", "rate": "0"}),
        item("tax_groups", 1, {"name": "Mješovito", "rate_ids": [1, 2]}),
        item("units", 1, {"name": "komad", "abbreviation": "kom"}),
        item("units", 2, {"name": "kilogram", "abbreviation": "kg", "decimals": 3}),
        item("categories", 11, {"name": "Pića", "parent_id": 10}),  # its parent comes later in the delta
        item("categories", 10, {"name": "Hrana", "color": "#aa3300"}),
        item(
            "products",
            CEVAPI,
            product(
                "Ćevapi 10 kom",
                cevapi_price,
                sku="CEV10",
                barcodes=[ean13("387000000001")],
                category_id=10,
                unit_id=1,
                tax_rate_id=1,
                variants=[
                    {"id": CEVAPI_BIG, "name": "Velika", "price": 1500, "barcodes": [ean13("387000000002")]}
                ],
            ),
            revision=version,
        ),
        item(
            "products",
            SOK,
            product(
                "Sok",
                250,
                sku="SOK1",
                barcodes=[ean13("387000000003")],
                category_id=11,
                tax_group_id=1,
                variants=[{"id": SOK_HALF, "name": "0,5 l", "sku": "SOK-05"}],
            ),
        ),
        item(
            "products",
            SIR,
            product(
                "Sir trapist",
                1890,
                plu="12345",
                unit_id=2,
                track_stock=True,
                variants=[
                    {"id": SIR_YOUNG, "name": "Mladi", "price": 1700, "barcodes": [ean13("387000000004")]}
                ],
            ),
        ),
        item(
            "tenders",
            "cash",
            {
                "name": "Gotovina",
                "tender_type": "cash",
                "cashdrawer": "force_open",
                "change_type": "tender",
                "change_tender": "cash",
                "over_tender": True,
            },
        ),
        item("tenders", "card", {"name": "Kartica", "tender_type": "card", "eft": True}),
        item("roles", "cashier", {"permissions": ["sell", "shift", "hold_cart"]}),
        item("employees", 7, {"cashier_num": 1, "name": "Amra", "role": "cashier", "pin_hash": PIN_HASH}),
        item(
            "infocodes",
            20,
            {
                "code": "REASON",
                "prompt": "Razlog",
                "trigger": "RECEIPT_COMMENT",
                "input_type": "functionbuttons",
                "subcodes": [{"name": "Reklamacija"}, {"name": "Poklon"}],
            },
        ),
        item(
            "sales_targets",
            30,
            {
                "name": "Januar",
                "start_date": "2026-01-01",
                "end_date": "2026-01-31",
                "type": "TOTAL_SALES_AMOUNT",
                "days": [{"target_date": "2026-01-02", "target_amount": 100000}],
            },
        ),
        item("store_settings", "store", {"store_id": "store-1", "store_name": "Oblak"}),
        item(
            "layouts",
            "main",
            {
                "name": "Glavni",
                "pages": [
                    {
                        "name": "Hrana",
                        "columns": 4,
                        "rows": 3,
                        "buttons": [{"x": 0, "y": 0, "action": "sell_product", "object_id": "100"}],
                    }
                ],
            },
        ),
    ]
