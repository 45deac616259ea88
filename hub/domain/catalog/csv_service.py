"""Importing and exporting products and customers as CSV (rules in :mod:`csv_io`)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from hub.db.database import Transaction
from hub.domain.catalog import reference_store as refs
from hub.domain.catalog.csv_io import (
    CUSTOMER_COLUMNS,
    PRODUCT_COLUMNS,
    ImportReport,
    ImportRequest,
    RowError,
    mapped_rows,
    parse_amount,
    parse_bool,
    row_error,
    write_csv,
)
from hub.domain.catalog.product_store import insert_product, load_products, patch_product
from hub.domain.catalog.schemas import CategoryIn, CustomerIn, ProductIn, ProductPatch
from hub.domain.catalog.service import CatalogService
from hub.domain.errors import DomainError, Invalid
from hub.domain.money import format_amount, format_signed_quantity

ROW_FAILURES = (DomainError, ValueError, ArithmeticError, msgspec.ValidationError)


def parse_level(text: str, field: str) -> str:
    """A stock level in the file ("12", "2,5", "-1") as the API's decimal text."""
    try:
        value = Decimal(text.strip().replace(" ", "").replace(",", "."))
        exact = value.is_finite() and value == value.quantize(Decimal("0.001"))
    except InvalidOperation:
        raise ValueError(f"{field} {text!r} is not a number") from None
    if not exact:
        raise ValueError(f"{field} {text!r} must be a number with at most 3 decimals")
    return format_signed_quantity(value)


class _Rollback(Exception):
    """Raised to roll a dry run (or a failed import) back after every row was tried."""


class _Lookups:
    """Names in the file (category, unit, tax rate) resolved to ids, created where sensible."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.categories: dict[str, int] = {}

    async def category(self, name: str) -> int | None:
        if not name:
            return None
        key = name.casefold()
        if key not in self.categories:
            row = await self.tx.fetchone(
                "SELECT id FROM categories WHERE name = ? COLLATE NOCASE AND active = 1", (name,)
            )
            # A category named in the file that does not exist yet is created, as the import
            # preview shows; it rolls back with the row if the row fails.
            self.categories[key] = (
                int(row["id"]) if row else await refs.save_category(self.tx, CategoryIn(name=name))
            )
        return self.categories[key]

    async def unit(self, text: str) -> int | None:
        if not text:
            return None
        row = await self.tx.fetchone(
            "SELECT id FROM units WHERE (abbreviation = ? OR name = ? COLLATE NOCASE) AND active = 1",
            (text, text),
        )
        if row is None:
            raise Invalid("unknown_unit", f"no unit {text!r}")
        return int(row["id"])

    async def tax_rate(self, text: str) -> int | None:
        if not text:
            return None
        percent = text.rstrip("%").strip().replace(",", ".")
        rows = await self.tx.fetchall(
            "SELECT id, rate FROM tax_rates WHERE active = 1 AND (name = ? COLLATE NOCASE OR rate = ?)",
            (text, percent),
        )
        if len(rows) != 1:
            raise Invalid(
                "unknown_tax_rate", f"tax rate {text!r} " + ("is ambiguous" if rows else "does not exist")
            )
        return int(rows[0]["id"])


async def _product_row(values: dict[str, str], exponent: int, lookups: _Lookups) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": values.get("name", "")}
    if not fields["name"]:
        raise Invalid("missing_name", "the name is empty")
    if "price" not in values or not values["price"]:
        raise Invalid("missing_price", "the price is empty")
    fields["price"] = parse_amount(values["price"], exponent)
    if values.get("cost_price"):
        fields["cost_price"] = parse_amount(values["cost_price"], exponent)
    for key in ("sku", "plu", "kitchen_station"):
        if values.get(key):
            fields[key] = values[key]
    if values.get("barcodes"):
        fields["barcodes"] = [c for c in values["barcodes"].replace("|", " ").replace(";", " ").split() if c]
    for key in ("track_stock", "is_promo"):
        if key in values:
            fields[key] = parse_bool(values[key])
    for key in ("stock", "min_stock"):
        if values.get(key):
            fields[key] = parse_level(values[key], key)
    fields["category_id"] = await lookups.category(values.get("category", ""))
    fields["unit_id"] = await lookups.unit(values.get("unit", ""))
    fields["tax_rate_id"] = await lookups.tax_rate(values.get("tax_rate", ""))
    return {k: v for k, v in fields.items() if v is not None}


class CsvService:
    """CSV import (dry run, atomic or skipping bad rows) and export."""

    def __init__(self, catalog: CatalogService) -> None:
        self.catalog = catalog

    async def _run(
        self, request: ImportRequest, columns: tuple[str, ...], kind: str, actor: str, apply: Any
    ) -> ImportReport:
        rows = list(mapped_rows(request, columns))
        errors: list[RowError] = []
        counts = {"created": 0, "updated": 0}
        try:
            async with self.catalog.write(actor, f"{kind}.imported", kind, {"rows": len(rows)}) as tx:
                lookups = _Lookups(tx)
                for line, values in rows:
                    # A savepoint per row: a bad row is undone alone, so every row is tried
                    # and reported, and good rows can still be kept with skip_bad_rows.
                    await tx.execute("SAVEPOINT import_row")
                    try:
                        counts[await apply(tx, values, lookups)] += 1
                    except (*ROW_FAILURES, sqlite3.IntegrityError) as exc:
                        await tx.execute("ROLLBACK TO import_row")
                        errors.append(row_error(line, exc))
                    await tx.execute("RELEASE import_row")
                if request.dry_run or (errors and not request.skip_bad_rows):
                    raise _Rollback
        except _Rollback:
            pass
        report = ImportReport(
            dry_run=request.dry_run,
            rows=len(rows),
            created=counts["created"],
            updated=counts["updated"],
            skipped=len(errors),
            errors=errors,
        )
        if errors and not request.skip_bad_rows and not request.dry_run:
            raise Invalid(
                "import_failed",
                f"{len(errors)} of {len(rows)} rows are bad; nothing was imported",
                details=msgspec.to_builtins(report),
            )
        return report

    async def import_products(self, request: ImportRequest, *, actor: str) -> ImportReport:
        # The import writes products and creates the categories it names.
        await self.catalog.ensure_local("products")
        await self.catalog.ensure_local("categories")
        exponent = (await self.catalog.settings.get()).settings.currency_exponent

        async def apply(tx: Transaction, values: dict[str, str], lookups: _Lookups) -> str:
            fields = await _product_row(values, exponent, lookups)
            existing = None
            if "sku" in fields:
                existing = await tx.fetchone("SELECT id FROM products WHERE sku = ?", (fields["sku"],))
            if existing is not None:
                # The file lists products to sell: one that was archived comes back.
                patch = msgspec.convert({**fields, "active": True}, ProductPatch)
                await patch_product(tx, int(existing["id"]), patch)
                return "updated"
            await insert_product(tx, msgspec.convert(fields, ProductIn))
            return "created"

        return await self._run(request, PRODUCT_COLUMNS, "products", actor, apply)

    async def import_customers(self, request: ImportRequest, *, actor: str) -> ImportReport:
        async def apply(tx: Transaction, values: dict[str, str], _: _Lookups) -> str:
            fields = {k: v for k, v in values.items() if v}
            body = msgspec.convert(fields, CustomerIn)
            existing = None
            if body.email:
                existing = await tx.fetchone(
                    "SELECT id FROM customers WHERE email = ? COLLATE NOCASE", (body.email,)
                )
            await refs.save_customer(tx, body, int(existing["id"]) if existing else None)
            return "updated" if existing else "created"

        return await self._run(request, CUSTOMER_COLUMNS, "customers", actor, apply)

    async def export_products(self) -> str:
        exponent = (await self.catalog.settings.get()).settings.currency_exponent
        names = {c.id: c.name for c in await self.catalog.categories()}
        units = {u.id: u.abbreviation for u in await self.catalog.units()}
        rates = {r.id: r.name for r in await self.catalog.tax_rates()}
        products = await load_products(
            self.catalog.db, "p.active = 1 ORDER BY p.name COLLATE NOCASE, p.id", ()
        )
        rows = [
            {
                "name": p.name,
                "price": format_amount(p.price, exponent),
                "sku": p.sku,
                "barcodes": "|".join(p.barcodes),
                "category": names.get(p.category_id) if p.category_id else None,
                "unit": units.get(p.unit_id) if p.unit_id else None,
                "tax_rate": rates.get(p.tax_rate_id) if p.tax_rate_id else None,
                "cost_price": None if p.cost_price is None else format_amount(p.cost_price, exponent),
                "stock": p.stock,
                "min_stock": p.min_stock,
                "track_stock": "yes" if p.track_stock else "no",
                "plu": p.plu,
                "is_promo": "yes" if p.is_promo else "no",
                "kitchen_station": p.kitchen_station,
            }
            for p in products
        ]
        return write_csv(PRODUCT_COLUMNS, rows)

    async def export_customers(self) -> str:
        page = await self.catalog.customers(limit=1_000_000)
        return write_csv(CUSTOMER_COLUMNS, [msgspec.to_builtins(c) for c in page.customers])
