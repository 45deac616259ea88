"""Applying the cloud's configuration, in process, checked through the hub's own services: a
full delta sells at its prices; a bad body or a broken reference rejects all of it and the old
config keeps selling; tombstones and full deltas archive; sales keep their prices; a delta
applied twice changes nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hub.domain.audit import verify
from hub.domain.sales.errors import NotFound as SaleNotFound
from hub.domain.sales.schemas import CartCreate, LineAdd
from hub.domain.staff.schemas import PinLogin
from tests.hub.sync.config_support import (
    CEVAPI,
    CEVAPI_BIG,
    ME,
    SIR,
    SIR_YOUNG,
    SOK,
    SOK_HALF,
    Store,
    delta,
    ean13,
    full_config,
    item,
    open_store,
    product,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(tmp_path) as opened:
        yield opened


async def dump(store: Store) -> dict[str, Any]:
    """Every table a config writes (stock and timestamps aside), to compare before and after."""
    tables = {
        "tax_rates": "SELECT * FROM tax_rates ORDER BY id",
        "tax_group_rates": "SELECT * FROM tax_group_rates ORDER BY group_id, rate_id",
        "units": "SELECT * FROM units ORDER BY id",
        "categories": "SELECT * FROM categories ORDER BY id",
        "products": "SELECT id, name, price, sku, plu, category_id, active FROM products ORDER BY id",
        "variants": "SELECT * FROM variants ORDER BY id",
        "barcodes": "SELECT * FROM barcodes ORDER BY code",
        "tenders": "SELECT * FROM tenders ORDER BY id",
        "roles": "SELECT * FROM role_permissions ORDER BY role, permission",
        "employees": "SELECT id, cashier_num, name, role, active FROM employees ORDER BY id",
        "infocodes": "SELECT id, code, active FROM infocodes ORDER BY id",
        "subcodes": "SELECT * FROM infocode_subcodes ORDER BY id",
        "targets": "SELECT id, name FROM sales_targets ORDER BY id",
        "settings": "SELECT version, body FROM store_settings",
        "documents": "SELECT section, key, body, revision, active FROM config_documents ORDER BY section, key",
        "state": "SELECT applied_version, rejected_version, error FROM config_state",
    }
    return {name: [tuple(r) for r in await store.db.fetchall(sql)] for name, sql in tables.items()}


async def test_a_full_delta_configures_the_store_and_it_sells_at_the_new_prices(store: Store) -> None:
    result = await store.config.apply(delta(5, full_config()))
    assert (result.outcome, result.applied_version, result.items) == ("applied", 5, 18), result
    sale = await store.sell("s1", CEVAPI)
    assert sale.total == 1170 and [(t.rate_id, t.amount) for t in sale.taxes] == [(1, 170)]
    assert (await store.sell("s2", CEVAPI, CEVAPI_BIG)).total == 1500
    juice = await store.sell("s3", SOK, SOK_HALF)  # a variant without a price: the product's
    assert juice.total == 250 and {t.rate_id for t in juice.taxes} == {1, 2}  # the tax group's rates
    # Barcodes and scale item codes find the cloud's products.
    cart = await store.sales.carts.create(CartCreate(terminal_id="T1"), actor=ME)
    view = await store.sales.carts.add_line(cart.id, LineAdd(barcode=ean13("387000000004")))
    assert [(line.product_id, line.variant_id, line.unit_price) for line in view.lines] == [
        (SIR, SIR_YOUNG, 1700)
    ]
    found = await store.catalog.adapter.by_plu("0012345")
    assert found is not None and found.product_id == SIR
    # Tenders: the defaults not named by the full delta are archived; the cloud's are in use.
    tenders = await store.sales.checkout.tenders.all()
    assert {t.id for t in tenders.values() if t.active} == {"cash", "card"}
    assert tenders["cash"].name == "Gotovina"
    # Staff: the cloud's role matrix and its employee, who logs in with the PIN hashed in the cloud.
    assert (await store.staff.matrix())["cashier"] == frozenset({"sell", "shift", "hold_cart"})
    session = await store.staff.login(PinLogin(terminal_id="T1", cashier_num=1, pin="1234"), device="tablet")
    assert session.employee.name == "Amra" and sorted(session.permissions) == ["hold_cart", "sell", "shift"]
    # Infocodes, targets, settings and the layout document.
    (code,) = await store.infocodes.all()
    assert (code.id, code.code, [s.name for s in code.subcodes]) == (20, "REASON", ["Reklamacija", "Poklon"])
    target = await store.targets.get(30)
    assert target.name == "Januar" and [d.target_amount for d in target.days] == [100000]
    assert (await store.settings.get()).settings.store_name == "Oblak"
    layouts = await store.config.documents("layouts")
    assert [d.key for d in layouts.documents] == ["main"]
    assert msgspec.json.decode(layouts.documents[0].body)["pages"][0]["buttons"][0]["object_id"] == "100"
    state = await store.config.state()
    assert (state.applied_version, state.rejected_version, state.error) == (5, 0, "")
    events = await store.db.fetchall("SELECT data FROM events WHERE type = 'config.applied'")
    assert [msgspec.json.decode(e["data"])["version"] for e in events] == [5]  # the POS pages reload
    entries = await store.db.fetchall("SELECT action, target FROM audit_log WHERE action LIKE 'config.%'")
    assert [tuple(e) for e in entries] == [("config.applied", "config:5")]
    assert (await verify(store.db)).ok


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # A body that does not decode: the field is named.
        (item("products", 103, {"name": "Burek", "price": -5}), "products 103 field price"),
        (item("products", 103, {"name": "Burek", "price": 300, "colour": "red"}), "products 103"),
        # A reference to nothing.
        (item("products", 103, product("Burek", 300, category_id=99)), "products 103 field category_id: category 99"),
        (item("tax_groups", 2, {"name": "Loša", "rate_ids": [1, 77]}), "tax_groups 2 field rate_ids: tax rate 77"),
        (item("tenders", "check", {"name": "Ček", "tender_type": "other", "change_tender": "nope"}),
         "tenders check field change_tender"),
        (item("categories", 12, {"name": "Sirotan", "parent_id": 404}), "categories 12 field parent_id"),
        # Archiving something active products still use.
        (item("tax_rates", 1, None, revision=9), "tax_groups 1 field rate_ids: tax rate 1 does not exist or is archived"),
        (item("categories", 11, None, revision=9), "products 101 field category_id: category 11"),
        # A barcode with a wrong check digit, and a key that is not an id.
        (item("products", 103, product("Burek", 300, barcodes=["3870000000014"])), "products 103 field barcodes"),
        (item("products", "abc", product("Burek", 300)), "products: key 'abc'"),
        (item("roles", "owner", {"permissions": ["sell"]}), "roles owner field permissions"),
    ],
)  # fmt: skip
async def test_a_bad_item_rejects_the_whole_delta_and_the_old_config_keeps_selling(
    store: Store, bad: dict[str, Any], message: str
) -> None:
    assert (await store.config.apply(delta(5, full_config()))).outcome == "applied"
    before = await dump(store)
    # A good price change travels with the bad item: it must not be applied either.
    change = [item("products", CEVAPI, product("Ćevapi 10 kom", 999, category_id=10), revision=6), bad]
    result = await store.config.apply(delta(6, change, since=5))
    assert result.outcome == "rejected" and message in result.error, result.error
    after = await dump(store)
    assert after.pop("state") == [(5, 6, result.error)]
    before.pop("state")
    assert after == before
    assert (await store.sell("after-reject", CEVAPI)).total == 1170
    state = await store.config.state()
    assert (state.applied_version, state.rejected_version) == (5, 6)
    rejected = await store.db.fetchall("SELECT details FROM audit_log WHERE action = 'config.rejected'")
    assert len(rejected) == 1 and message in msgspec.json.decode(rejected[0]["details"])["error"]


async def test_tombstones_archive_and_nothing_is_deleted(store: Store) -> None:
    await store.config.apply(delta(5, full_config()))
    sale = await store.sell("before", SOK)
    tombstones = [
        item("products", SOK, None, revision=6),
        item("tenders", "card", None, revision=6),
        item("employees", 7, None, revision=6),
        item("infocodes", 20, None, revision=6),
        item("layouts", "main", None, revision=6),
        item("roles", "cashier", None, revision=6),
        item("sales_targets", 30, None, revision=6),
    ]
    result = await store.config.apply(delta(6, tombstones, since=5))
    assert result.outcome == "applied", result.error
    assert await store.catalog.adapter.sellable(SOK, None) is None
    cart = await store.sales.carts.create(CartCreate(terminal_id="T1"), actor=ME)
    with pytest.raises(SaleNotFound):
        await store.sales.carts.add_line(cart.id, LineAdd(product_id=SOK))
    assert not (await store.sales.checkout.tenders.all())["card"].active
    assert await store.staff.has_employees() is False
    assert [c.active for c in await store.infocodes.all()] == [False]
    assert (await store.config.documents("layouts")).documents == []
    assert "refund_with_receipt" in (await store.staff.matrix())["cashier"]  # back to its defaults
    assert await store.targets.all() == []
    # The rows are still there for the sales that name them.
    row = await store.db.fetchone("SELECT name, active FROM products WHERE id = ?", (SOK,))
    assert row is not None and tuple(row) == ("Sok", 0)
    assert (await store.sales.checkout.sale(sale.id)).lines[0].name == "Sok"


async def test_a_full_delta_archives_what_it_does_not_name(store: Store) -> None:
    await store.config.apply(delta(5, full_config()))
    named = [i for i in full_config() if not (i["section"] == "products" and i["key"] == str(SIR))]
    named = [i for i in named if i["section"] != "layouts"]
    named.append(item("products", 104, product("Pita", 400, barcodes=[ean13("387000000005")]), revision=7))
    result = await store.config.apply(delta(7, named))
    assert result.outcome == "applied", result.error
    assert await store.catalog.adapter.sellable(SIR, None) is None
    assert (await store.sell("pita", 104)).total == 400
    assert (await store.config.documents("layouts")).documents == []
    # The archived cheese lets go of its barcode: the cloud may give it to another product.
    again = [
        *named,
        item("products", 105, product("Kajmak", 600, barcodes=[ean13("387000000004")]), revision=8),
    ]
    assert (await store.config.apply(delta(8, again))).outcome == "applied"
    assert (await store.sell("kajmak", 105)).total == 600


async def test_a_sale_keeps_its_price_and_a_cart_reprices_new_lines(store: Store) -> None:
    await store.config.apply(delta(5, full_config()))
    sale = await store.sell("old-price", CEVAPI)
    cart = await store.sales.carts.create(CartCreate(terminal_id="T1"), actor=ME)
    await store.sales.carts.add_line(cart.id, LineAdd(product_id=CEVAPI))
    change = [
        item("products", CEVAPI, product("Ćevapi 10 kom", 1290, category_id=10, tax_rate_id=1), revision=6)
    ]
    assert (await store.config.apply(delta(6, change, since=5))).outcome == "applied"
    assert (await store.sell("new-price", CEVAPI)).total == 1290
    kept = await store.sales.checkout.sale(sale.id)
    assert (kept.total, kept.lines[0].unit_price) == (1170, 1170)
    # The line already in the cart keeps its price; a line added now takes the new one.
    view = await store.sales.carts.add_line(cart.id, LineAdd(product_id=CEVAPI, note="druga"))
    assert [line.unit_price for line in view.lines] == [1170, 1290]


async def test_the_same_delta_twice_changes_nothing(store: Store) -> None:
    config = delta(5, full_config())
    assert (await store.config.apply(config)).outcome == "applied"
    before = await dump(store)
    again = await store.config.apply(config)
    assert (again.outcome, again.applied_version) == ("unchanged", 5)
    assert await dump(store) == before
    # The same items under a newer version rewrite the same rows: only the version moves.
    assert (await store.config.apply(delta(6, full_config()))).outcome == "applied"
    after = await dump(store)
    assert after.pop("state") == [(6, 0, "")] and before.pop("state") == [(5, 0, "")]
    assert after == before
    # A delta that starts after the applied version would skip items: refused.
    gap = await store.config.apply(delta(9, [item("units", 3, {"name": "l", "abbreviation": "l"})], since=8))
    assert gap.outcome == "rejected" and "starts after version 8" in gap.error


async def test_five_thousand_products_apply_quickly(store: Store) -> None:
    items = [i for i in full_config() if i["section"] != "products"]
    items += [
        item("products", 10_000 + n, product(f"Artikal {n}", 100 + n, sku=f"A{n}", category_id=10, tax_rate_id=1,
                                             barcodes=[ean13(f"2000{n:08d}")]))
        for n in range(5000)
    ]  # fmt: skip
    config = delta(5, items)
    started = time.perf_counter()
    result = await store.config.apply(config)
    elapsed = time.perf_counter() - started
    assert result.outcome == "applied", result.error
    assert (await store.sell("bulk", 14_999)).total == 5099
    # The box is slower than a CI runner: this bound catches a per-row round trip, not jitter.
    assert elapsed < 4.0, f"{elapsed:.2f} s"
