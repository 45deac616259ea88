"""Products, variants and their barcodes in SQLite.

Functions take a :class:`Transaction` (writes) or anything with ``fetchall`` (reads) so the API
and the CSV import share one code path, and an import of many rows is one transaction.
Uniqueness (SKU, item code, barcode across products and variants) is enforced by the schema;
a violation becomes a 409 naming the field and the value.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from hub.db.database import Transaction
from hub.domain.catalog.barcode_check import normalise
from hub.domain.catalog.schemas import ProductIn, ProductPatch, ProductView, VariantIn, VariantView
from hub.domain.clock import now_iso
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.money import format_quantity, format_signed_quantity


class Reader(Protocol):
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...


def normal_plu(plu: str | None) -> str | None:
    """Scale labels pad item codes with zeros ("00123"); they are stored without them."""
    if plu is None:
        return None
    return plu.lstrip("0") or "0"


def normal_barcodes(codes: Sequence[str]) -> list[str]:
    result = []
    for code in codes:
        try:
            result.append(normalise(code))
        except ValueError as exc:
            raise Invalid("bad_check_digit", str(exc), details={"barcode": code}) from None
    if len(set(result)) != len(result):
        raise Invalid("duplicate_barcode", "the same barcode is given twice")
    return result


def _integrity(exc: sqlite3.IntegrityError) -> Conflict | Invalid:
    text = str(exc)
    for column, code in (
        ("products.sku", "duplicate_sku"),
        ("variants.sku", "duplicate_sku"),
        ("products.plu", "duplicate_plu"),
        ("barcodes.code", "duplicate_barcode"),
    ):
        if column in text:
            return Conflict(code, f"another product already has this {column.split('.')[1]}")
    if "FOREIGN KEY" in text:
        return Invalid("unknown_reference", "a referenced category, unit, tax rate or group does not exist")
    if "CHECK" in text:
        return Invalid("invalid_product", "a product has a tax rate or a tax group, not both")
    return Conflict("conflict", text)


async def _check_references(tx: Transaction, body: ProductIn | ProductPatch) -> None:
    for table, value, code in (
        ("categories", body.category_id, "unknown_category"),
        ("units", body.unit_id, "unknown_unit"),
        ("tax_rates", body.tax_rate_id, "unknown_tax_rate"),
        ("tax_groups", body.tax_group_id, "unknown_tax_group"),
    ):
        if (
            value is not None
            and await tx.fetchone(f"SELECT 1 FROM {table} WHERE id = ? AND active = 1", (value,)) is None
        ):
            raise Invalid(
                code, f"{table[:-1].replace('ie', 'y')} {value} does not exist", details={"id": value}
            )


def _stock(text: str) -> str:
    return format_signed_quantity(Decimal(text))


async def insert_product(tx: Transaction, body: ProductIn) -> int:
    """Insert a product with its barcodes and variants; returns its id."""
    await _check_references(tx, body)
    codes = normal_barcodes(body.barcodes)
    try:
        row = await tx.fetchone(
            "INSERT INTO products (name, price, cost_price, sku, plu, category_id, unit_id, tax_rate_id, "
            "tax_group_id, kitchen_station, is_promo, track_stock, stock, min_stock, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                body.name,
                body.price,
                body.cost_price,
                body.sku,
                normal_plu(body.plu),
                body.category_id,
                body.unit_id,
                body.tax_rate_id,
                body.tax_group_id,
                body.kitchen_station,
                body.is_promo,
                body.track_stock,
                _stock(body.stock),
                format_quantity(Decimal(body.min_stock)),
                now_iso(),
            ),
        )
        assert row is not None
        product_id = int(row["id"])
        await tx.executemany(
            "INSERT INTO barcodes (code, product_id, variant_id) VALUES (?, ?, NULL)",
            [(c, product_id) for c in codes],
        )
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc) from None
    for variant in body.variants:
        await insert_variant(tx, product_id, variant)
    return product_id


async def insert_variant(tx: Transaction, product_id: int, body: VariantIn) -> int:
    codes = normal_barcodes(body.barcodes)
    try:
        row = await tx.fetchone(
            "INSERT INTO variants (product_id, name, price, sku, own_stock, stock) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (product_id, body.name, body.price, body.sku, body.own_stock, _stock(body.stock)),
        )
        assert row is not None
        variant_id = int(row["id"])
        await tx.executemany(
            "INSERT INTO barcodes (code, product_id, variant_id) VALUES (?, ?, ?)",
            [(c, product_id, variant_id) for c in codes],
        )
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc) from None
    return variant_id


PATCHABLE = (
    "name",
    "price",
    "cost_price",
    "sku",
    "category_id",
    "unit_id",
    "tax_rate_id",
    "tax_group_id",
    "kitchen_station",
    "is_promo",
    "track_stock",
    "active",
)


async def patch_product(tx: Transaction, product_id: int, body: ProductPatch) -> None:
    if await tx.fetchone("SELECT 1 FROM products WHERE id = ?", (product_id,)) is None:
        raise NotFound("product_not_found", f"no product {product_id}")
    await _check_references(tx, body)
    fields: dict[str, Any] = {
        name: getattr(body, name) for name in PATCHABLE if getattr(body, name) is not None
    }
    if body.plu is not None:
        fields["plu"] = normal_plu(body.plu)
    if body.stock is not None:
        fields["stock"] = _stock(body.stock)
    if body.min_stock is not None:
        fields["min_stock"] = format_quantity(Decimal(body.min_stock))
    fields["updated_at"] = now_iso()
    try:
        await tx.execute(
            f"UPDATE products SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
            (*fields.values(), product_id),
        )
        if body.barcodes is not None:
            codes = normal_barcodes(body.barcodes)
            await tx.execute(
                "DELETE FROM barcodes WHERE product_id = ? AND variant_id IS NULL", (product_id,)
            )
            await tx.executemany(
                "INSERT INTO barcodes (code, product_id, variant_id) VALUES (?, ?, NULL)",
                [(c, product_id) for c in codes],
            )
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc) from None


def _variant_view(row: sqlite3.Row, codes: list[str]) -> VariantView:
    return VariantView(
        id=row["id"],
        product_id=row["product_id"],
        name=row["name"],
        price=row["price"],
        sku=row["sku"],
        barcodes=codes,
        own_stock=bool(row["own_stock"]),
        stock=row["stock"],
        active=bool(row["active"]),
    )


async def load_products(db: Reader, where: str, params: Sequence[Any]) -> list[ProductView]:
    """Products matching ``where`` (SQL over ``products p``) with their barcodes and variants."""
    rows = await db.fetchall(f"SELECT p.* FROM products p WHERE {where}", params)
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    marks = ",".join("?" * len(ids))
    codes: dict[tuple[int, int | None], list[str]] = {}
    for code in await db.fetchall(f"SELECT * FROM barcodes WHERE product_id IN ({marks}) ORDER BY code", ids):
        codes.setdefault((code["product_id"], code["variant_id"]), []).append(code["code"])
    variants: dict[int, list[VariantView]] = {}
    for v in await db.fetchall(f"SELECT * FROM variants WHERE product_id IN ({marks}) ORDER BY id", ids):
        variants.setdefault(v["product_id"], []).append(
            _variant_view(v, codes.get((v["product_id"], v["id"]), []))
        )
    return [
        ProductView(
            id=r["id"],
            name=r["name"],
            price=r["price"],
            cost_price=r["cost_price"],
            sku=r["sku"],
            plu=r["plu"],
            barcodes=codes.get((r["id"], None), []),
            category_id=r["category_id"],
            unit_id=r["unit_id"],
            tax_rate_id=r["tax_rate_id"],
            tax_group_id=r["tax_group_id"],
            kitchen_station=r["kitchen_station"],
            is_promo=bool(r["is_promo"]),
            track_stock=bool(r["track_stock"]),
            stock=r["stock"],
            min_stock=r["min_stock"],
            low_stock=bool(r["track_stock"]) and Decimal(r["stock"]) < Decimal(r["min_stock"]),
            active=bool(r["active"]),
            variants=variants.get(r["id"], []),
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


async def get_product(db: Reader, product_id: int) -> ProductView:
    found = await load_products(db, "p.id = ?", (product_id,))
    if not found:
        raise NotFound("product_not_found", f"no product {product_id}")
    return found[0]
