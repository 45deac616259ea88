"""Products, variants and their barcodes in SQLite.

Functions take a :class:`Transaction` (writes) or anything with ``fetchall`` (reads) so the API
and the CSV import share one code path, and an import of many rows is one transaction.

Uniqueness: a SKU is unique across products and variants, an item code (PLU) across products,
and a barcode across everything (one ``barcodes`` table). A clash is a 409 naming the field, the
value and who holds it. The barcode of an archived product or variant is released when another
one claims it (the shop replaced the article); an archived product's SKU is not (bring it back
or change it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from hub.db.database import Transaction
from hub.domain.catalog.barcode_check import normalise
from hub.domain.catalog.schemas import (
    ProductIn,
    ProductPatch,
    ProductView,
    VariantIn,
    VariantPatch,
    VariantView,
    changes,
)
from hub.domain.clock import now_iso
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.money import format_quantity, format_signed_quantity


class Reader(Protocol):
    """Anything that runs a query: the database (reads) or a transaction."""

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...


def normal_plu(plu: str | None) -> str | None:
    """Scale labels pad item codes with zeros ("00123"); they are stored without them."""
    if plu is None:
        return None
    return plu.lstrip("0") or "0"


def normal_barcodes(codes: Sequence[str]) -> list[str]:
    """Codes in their stored form; a wrong GS1 check digit or a repeated code is a 422."""
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
        return Invalid("tax_rate_and_group", "a product has a tax rate or a tax group, not both")
    return Conflict("conflict", text)


async def _check_references(tx: Transaction, fields: dict[str, Any]) -> None:
    for table, key, code in (
        ("categories", "category_id", "unknown_category"),
        ("units", "unit_id", "unknown_unit"),
        ("tax_rates", "tax_rate_id", "unknown_tax_rate"),
        ("tax_groups", "tax_group_id", "unknown_tax_group"),
    ):
        value = fields.get(key)
        if (
            value is not None
            and await tx.fetchone(f"SELECT 1 FROM {table} WHERE id = ? AND active = 1", (value,)) is None
        ):
            name = key.removesuffix("_id").replace("_", " ")
            raise Invalid(code, f"{name} {value} does not exist", details={"id": value})


async def _check_sku(
    tx: Transaction, sku: str | None, *, product_id: int | None = None, variant_id: int | None = None
) -> None:
    """A SKU names one product or one variant: the same text on both is a 409."""
    if sku is None:
        return
    holder = await tx.fetchone(
        "SELECT id AS product_id, NULL AS variant_id FROM products WHERE sku = ? AND id IS NOT ? "
        "UNION ALL SELECT product_id, id FROM variants WHERE sku = ? AND id IS NOT ? LIMIT 1",
        (sku, product_id, sku, variant_id),
    )
    if holder is not None:
        raise Conflict(
            "duplicate_sku",
            f"SKU {sku!r} already belongs to product {holder['product_id']}",
            details={"sku": sku, "product_id": holder["product_id"], "variant_id": holder["variant_id"]},
        )


async def _add_barcodes(tx: Transaction, product_id: int, variant_id: int | None, codes: list[str]) -> None:
    if not codes:
        return
    marks = ",".join("?" * len(codes))
    # Codes still held by an archived product or variant go to the new holder.
    await tx.execute(
        f"DELETE FROM barcodes WHERE code IN ({marks}) AND (product_id IN "
        "(SELECT id FROM products WHERE active = 0) OR variant_id IN (SELECT id FROM variants WHERE active = 0))",
        codes,
    )
    taken = await tx.fetchone(
        f"SELECT code, product_id, variant_id FROM barcodes WHERE code IN ({marks}) LIMIT 1", codes
    )
    if taken is not None:
        raise Conflict(
            "duplicate_barcode",
            f"barcode {taken['code']} already belongs to product {taken['product_id']}",
            details={k: taken[k] for k in ("code", "product_id", "variant_id")},
        )
    await tx.executemany(
        "INSERT INTO barcodes (code, product_id, variant_id) VALUES (?, ?, ?)",
        [(code, product_id, variant_id) for code in codes],
    )


def _stock(text: str) -> str:
    return format_signed_quantity(Decimal(text))


async def insert_product(tx: Transaction, body: ProductIn) -> int:
    """Insert a product with its barcodes and variants; returns its id."""
    await _check_references(tx, changes(body))
    codes = normal_barcodes(body.barcodes)
    await _check_sku(tx, body.sku)
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
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc) from None
    assert row is not None
    product_id = int(row["id"])
    await _add_barcodes(tx, product_id, None, codes)
    for variant in body.variants:
        await insert_variant(tx, product_id, variant)
    return product_id


async def insert_variant(tx: Transaction, product_id: int, body: VariantIn) -> int:
    """Insert a variant of ``product_id`` with its barcodes; returns its id."""
    codes = normal_barcodes(body.barcodes)
    await _check_sku(tx, body.sku)
    try:
        row = await tx.fetchone(
            "INSERT INTO variants (product_id, name, price, sku, own_stock, stock) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (product_id, body.name, body.price, body.sku, body.own_stock, _stock(body.stock)),
        )
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc) from None
    assert row is not None
    variant_id = int(row["id"])
    await _add_barcodes(tx, product_id, variant_id, codes)
    return variant_id


async def patch_product(tx: Transaction, product_id: int, body: ProductPatch) -> None:
    """Change the fields ``body`` carries; ``barcodes`` replaces the product's own codes."""
    if await tx.fetchone("SELECT 1 FROM products WHERE id = ?", (product_id,)) is None:
        raise NotFound("product_not_found", f"no product {product_id}")
    fields = changes(body)
    await _check_references(tx, fields)
    # A product is taxed by a rate or by a group: choosing one drops the other.
    for chosen, other in (("tax_rate_id", "tax_group_id"), ("tax_group_id", "tax_rate_id")):
        if fields.get(chosen) is not None and other not in fields:
            fields[other] = None
    codes = fields.pop("barcodes", None)
    if "sku" in fields:
        await _check_sku(tx, fields["sku"], product_id=product_id)
    if "plu" in fields:
        fields["plu"] = normal_plu(fields["plu"])
    if "stock" in fields:
        fields["stock"] = _stock(fields["stock"])
    if "min_stock" in fields:
        fields["min_stock"] = format_quantity(Decimal(fields["min_stock"]))
    fields["updated_at"] = now_iso()
    try:
        await tx.execute(
            f"UPDATE products SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
            (*fields.values(), product_id),
        )
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc) from None
    if codes is not None:
        normal = normal_barcodes(codes)
        await tx.execute("DELETE FROM barcodes WHERE product_id = ? AND variant_id IS NULL", (product_id,))
        await _add_barcodes(tx, product_id, None, normal)


async def require_variant(db: Reader, product_id: int, variant_id: int) -> sqlite3.Row:
    """The variant ``variant_id`` of ``product_id``, or a 404."""
    rows = await db.fetchall(
        "SELECT * FROM variants WHERE id = ? AND product_id = ?", (variant_id, product_id)
    )
    if not rows:
        raise NotFound("variant_not_found", f"product {product_id} has no variant {variant_id}")
    return rows[0]


async def patch_variant(tx: Transaction, product_id: int, variant_id: int, body: VariantPatch) -> None:
    """Change the fields ``body`` carries; ``barcodes`` replaces the variant's codes."""
    await require_variant(tx, product_id, variant_id)
    fields = changes(body)
    codes = fields.pop("barcodes", None)
    if "sku" in fields:
        await _check_sku(tx, fields["sku"], variant_id=variant_id)
    if "stock" in fields:
        fields["stock"] = _stock(fields["stock"])
    if fields:
        try:
            await tx.execute(
                f"UPDATE variants SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                (*fields.values(), variant_id),
            )
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None
    if codes is not None:
        normal = normal_barcodes(codes)
        await tx.execute("DELETE FROM barcodes WHERE variant_id = ?", (variant_id,))
        await _add_barcodes(tx, product_id, variant_id, normal)
    await tx.execute("UPDATE products SET updated_at = ? WHERE id = ?", (now_iso(), product_id))


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
    """One product (archived ones too), or a 404."""
    found = await load_products(db, "p.id = ?", (product_id,))
    if not found:
        raise NotFound("product_not_found", f"no product {product_id}")
    return found[0]
