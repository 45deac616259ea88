"""Tax rates, tax groups, units, categories and customers in SQLite.

Each entity has an insert that validates its references, an update that replaces it, a patch
(the stored row merged with the fields a patch carries, saved through the same update), and an
archive (``active = 0``): sales keep pointing at archived rows, so nothing is deleted. A row
that active products (or groups, or subcategories) still use cannot be archived.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec

from hub.db.database import Transaction
from hub.domain.catalog.product_store import Reader
from hub.domain.catalog.schemas import (
    CategoryIn,
    CategoryView,
    CustomerIn,
    CustomerView,
    TaxGroupIn,
    TaxGroupView,
    TaxRateIn,
    TaxRateView,
    UnitIn,
    UnitView,
    changes,
)
from hub.domain.clock import now_iso
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.money import MoneyError, format_percent, parse_percent

TABLES = {
    "tax_rates": "tax_rate",
    "tax_groups": "tax_group",
    "units": "unit",
    "categories": "category",
    "customers": "customer",
}


async def require(db: Reader, table: str, row_id: int) -> sqlite3.Row:
    rows = await db.fetchall(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    if not rows:
        name = TABLES[table]
        raise NotFound(f"{name}_not_found", f"no {name.replace('_', ' ')} {row_id}")
    return rows[0]


# What still uses a row: (SQL counting the users, what they are) per table.
USERS: dict[str, tuple[tuple[str, str], ...]] = {
    "tax_rates": (
        ("SELECT COUNT(*) FROM products WHERE tax_rate_id = ? AND active = 1", "products"),
        (
            "SELECT COUNT(*) FROM tax_group_rates r JOIN tax_groups g ON g.id = r.group_id "
            "WHERE r.rate_id = ? AND g.active = 1",
            "tax_groups",
        ),
    ),
    "tax_groups": (("SELECT COUNT(*) FROM products WHERE tax_group_id = ? AND active = 1", "products"),),
    "units": (("SELECT COUNT(*) FROM products WHERE unit_id = ? AND active = 1", "products"),),
    "categories": (
        ("SELECT COUNT(*) FROM products WHERE category_id = ? AND active = 1", "products"),
        ("SELECT COUNT(*) FROM categories WHERE parent_id = ? AND active = 1", "subcategories"),
    ),
    "customers": (),
}


async def set_active(tx: Transaction, table: str, row_id: int, active: bool) -> None:
    """Archive (or bring back) a row; archiving one that active rows still use is a 409."""
    await require(tx, table, row_id)
    if not active:
        users: dict[str, int] = {}
        for sql, what in USERS[table]:
            row = await tx.fetchone(sql, (row_id,))
            if row is not None and row[0]:
                users[what] = int(row[0])
        if users:
            listed = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in users.items())
            raise Conflict(
                "in_use",
                f"{TABLES[table].replace('_', ' ')} {row_id} is still used by {listed}",
                details=users,
            )
    extra = ", is_default = 0" if table == "tax_rates" and not active else ""
    await tx.execute(f"UPDATE {table} SET active = ?{extra} WHERE id = ?", (active, row_id))


async def archive(tx: Transaction, table: str, row_id: int) -> None:
    await set_active(tx, table, row_id, False)


# --- tax rates and groups ----------------------------------------------------------------


def tax_rate_view(row: sqlite3.Row) -> TaxRateView:
    return TaxRateView(
        id=row["id"],
        name=row["name"],
        rate=row["rate"],
        inclusive=bool(row["inclusive"]),
        compound=bool(row["compound"]),
        priority=row["priority"],
        is_default=bool(row["is_default"]),
        active=bool(row["active"]),
    )


def _percent(text: str) -> str:
    try:
        return format_percent(parse_percent(text))
    except MoneyError as exc:
        raise Invalid(exc.code, str(exc)) from None


async def save_tax_rate(tx: Transaction, body: TaxRateIn, rate_id: int | None = None) -> int:
    rate = _percent(body.rate)
    if body.is_default:
        # One default at a time: the new default takes over.
        await tx.execute("UPDATE tax_rates SET is_default = 0 WHERE is_default = 1")
    values = (body.name, rate, body.inclusive, body.compound, body.priority, body.is_default)
    if rate_id is None:
        row = await tx.fetchone(
            "INSERT INTO tax_rates (name, rate, inclusive, compound, priority, is_default) VALUES (?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            values,
        )
        assert row is not None
        return int(row["id"])
    await require(tx, "tax_rates", rate_id)
    await tx.execute(
        "UPDATE tax_rates SET name = ?, rate = ?, inclusive = ?, compound = ?, priority = ?, is_default = ? WHERE id = ?",
        (*values, rate_id),
    )
    return rate_id


async def tax_group_views(db: Reader, where: str = "1", params: tuple[Any, ...] = ()) -> list[TaxGroupView]:
    groups = await db.fetchall(f"SELECT * FROM tax_groups WHERE {where} ORDER BY id", params)
    members = await db.fetchall("SELECT group_id, rate_id FROM tax_group_rates ORDER BY rate_id")
    by_group: dict[int, list[int]] = {}
    for m in members:
        by_group.setdefault(m["group_id"], []).append(m["rate_id"])
    return [
        TaxGroupView(id=g["id"], name=g["name"], rate_ids=by_group.get(g["id"], []), active=bool(g["active"]))
        for g in groups
    ]


async def save_tax_group(tx: Transaction, body: TaxGroupIn, group_id: int | None = None) -> int:
    for rate_id in body.rate_ids:
        if await tx.fetchone("SELECT 1 FROM tax_rates WHERE id = ? AND active = 1", (rate_id,)) is None:
            raise Invalid("unknown_tax_rate", f"tax rate {rate_id} does not exist", details={"id": rate_id})
    if len(set(body.rate_ids)) != len(body.rate_ids):
        raise Invalid("duplicate_tax_rate", "a tax group lists a rate twice")
    try:
        if group_id is None:
            row = await tx.fetchone("INSERT INTO tax_groups (name) VALUES (?) RETURNING id", (body.name,))
            assert row is not None
            group_id = int(row["id"])
        else:
            await require(tx, "tax_groups", group_id)
            await tx.execute("UPDATE tax_groups SET name = ? WHERE id = ?", (body.name, group_id))
            await tx.execute("DELETE FROM tax_group_rates WHERE group_id = ?", (group_id,))
    except sqlite3.IntegrityError:
        raise Conflict("duplicate_name", f"a tax group named {body.name!r} exists") from None
    await tx.executemany(
        "INSERT INTO tax_group_rates (group_id, rate_id) VALUES (?, ?)",
        [(group_id, r) for r in body.rate_ids],
    )
    return group_id


# --- units and categories ----------------------------------------------------------------


def unit_view(row: sqlite3.Row) -> UnitView:
    return UnitView(
        id=row["id"],
        name=row["name"],
        abbreviation=row["abbreviation"],
        decimals=row["decimals"],
        active=bool(row["active"]),
    )


async def save_unit(tx: Transaction, body: UnitIn, unit_id: int | None = None) -> int:
    try:
        if unit_id is None:
            row = await tx.fetchone(
                "INSERT INTO units (name, abbreviation, decimals) VALUES (?, ?, ?) RETURNING id",
                (body.name, body.abbreviation, body.decimals),
            )
            assert row is not None
            return int(row["id"])
        await require(tx, "units", unit_id)
        await tx.execute(
            "UPDATE units SET name = ?, abbreviation = ?, decimals = ? WHERE id = ?",
            (body.name, body.abbreviation, body.decimals, unit_id),
        )
        return unit_id
    except sqlite3.IntegrityError:
        raise Conflict("duplicate_unit", f"a unit {body.abbreviation!r} exists") from None


def category_view(row: sqlite3.Row) -> CategoryView:
    return CategoryView(
        id=row["id"],
        name=row["name"],
        color=row["color"],
        sort_order=row["sort_order"],
        parent_id=row["parent_id"],
        active=bool(row["active"]),
    )


async def save_category(tx: Transaction, body: CategoryIn, category_id: int | None = None) -> int:
    if body.parent_id is not None:
        await require(tx, "categories", body.parent_id)
        # Walk up from the new parent: reaching this category would make a loop.
        parent: int | None = body.parent_id
        while parent is not None:
            if parent == category_id:
                raise Invalid("category_cycle", "a category cannot be its own ancestor")
            row = await tx.fetchone("SELECT parent_id FROM categories WHERE id = ?", (parent,))
            parent = None if row is None else row["parent_id"]
    values = (body.name, body.color, body.sort_order, body.parent_id)
    if category_id is None:
        row = await tx.fetchone(
            "INSERT INTO categories (name, color, sort_order, parent_id) VALUES (?, ?, ?, ?) RETURNING id",
            values,
        )
        assert row is not None
        return int(row["id"])
    await require(tx, "categories", category_id)
    await tx.execute(
        "UPDATE categories SET name = ?, color = ?, sort_order = ?, parent_id = ? WHERE id = ?",
        (*values, category_id),
    )
    return category_id


# --- customers ---------------------------------------------------------------------------


def customer_view(row: sqlite3.Row) -> CustomerView:
    return CustomerView(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        city=row["city"],
        notes=row["notes"],
        company_name=row["company_name"],
        tax_id=row["tax_id"],
        address=row["address"],
        max_discount_percent=row["max_discount_percent"],
        active=bool(row["active"]),
        updated_at=row["updated_at"],
    )


CUSTOMER_FIELDS = CustomerIn.__struct_fields__


async def save_customer(tx: Transaction, body: CustomerIn, customer_id: int | None = None) -> int:
    if body.max_discount_percent is not None:
        body = msgspec.structs.replace(body, max_discount_percent=_percent(body.max_discount_percent))
    values = [getattr(body, f) for f in CUSTOMER_FIELDS]
    if customer_id is None:
        row = await tx.fetchone(
            f"INSERT INTO customers ({', '.join(CUSTOMER_FIELDS)}, updated_at) "
            f"VALUES ({', '.join('?' * len(CUSTOMER_FIELDS))}, ?) RETURNING id",
            (*values, now_iso()),
        )
        assert row is not None
        return int(row["id"])
    await require(tx, "customers", customer_id)
    await tx.execute(
        f"UPDATE customers SET {', '.join(f'{f} = ?' for f in CUSTOMER_FIELDS)}, updated_at = ? WHERE id = ?",
        (*values, now_iso(), customer_id),
    )
    return customer_id


def percent_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# --- patches -------------------------------------------------------------------------------

Saver = Callable[[Transaction, Any, int | None], Awaitable[int]]
INPUTS: dict[str, tuple[type[msgspec.Struct], Saver]] = {
    "tax_rates": (TaxRateIn, save_tax_rate),
    "tax_groups": (TaxGroupIn, save_tax_group),
    "units": (UnitIn, save_unit),
    "categories": (CategoryIn, save_category),
    "customers": (CustomerIn, save_customer),
}


async def patch(tx: Transaction, table: str, row_id: int, body: msgspec.Struct) -> None:
    """Merge the fields ``body`` carries into the stored row and save it like a full update."""
    row = await require(tx, table, row_id)
    kind, save = INPUTS[table]
    fields = changes(body)
    active = fields.pop("active", None)
    if fields:
        current: dict[str, Any] = {k: row[k] for k in row.keys() if k in kind.__struct_fields__}  # noqa: SIM118
        if table == "tax_groups":
            members = await tx.fetchall(
                "SELECT rate_id FROM tax_group_rates WHERE group_id = ? ORDER BY rate_id", (row_id,)
            )
            current["rate_ids"] = [m["rate_id"] for m in members]
        current.update(fields)
        try:
            merged = msgspec.convert(current, kind, strict=False)
        except msgspec.ValidationError as exc:
            raise Invalid(
                "validation_failed", f"the {TABLES[table].replace('_', ' ')} would be invalid: {exc}"
            ) from None
        await save(tx, merged, row_id)
    if isinstance(active, bool):
        await set_active(tx, table, row_id, active)
