"""The catalog as the sales context sees it (:class:`hub.domain.sales.ports.CatalogPort`).

Sales asks for the same few products and their taxes on every cart change and checkout, so the
resolved taxes and sellable items are cached; every catalog write clears the cache after it
commits (:meth:`CatalogAdapter.invalidate`), so a price change applies from the next line
added, while lines already in a cart keep the price they were added at.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from hub.db.database import Database, Transaction
from hub.domain.catalog.product_store import normal_plu
from hub.domain.catalog.stock import move_stock
from hub.domain.pricing import TaxRate
from hub.domain.sales.ports import CustomerInfo, SellableItem

SELLABLE = (
    "SELECT p.id, p.name, p.price, p.is_promo, p.track_stock, COALESCE(u.decimals, 0) AS decimals, "
    "v.id AS variant_id, v.name AS variant_name, v.price AS variant_price "
    "FROM products p LEFT JOIN units u ON u.id = p.unit_id "
    "LEFT JOIN variants v ON v.product_id = p.id AND v.id = ? AND v.active = 1 "
    "WHERE p.id = ? AND p.active = 1"
)


def _rate(row: sqlite3.Row) -> TaxRate:
    return TaxRate(
        id=row["id"],
        name=row["name"],
        rate=Decimal(row["rate"]),
        inclusive=bool(row["inclusive"]),
        compound=bool(row["compound"]),
        priority=row["priority"],
    )


class CatalogAdapter:
    """Implements the sales context's catalog port over the hub database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._taxes: dict[tuple[int, int | None], tuple[TaxRate, ...]] = {}
        self._items: dict[tuple[int, int | None], SellableItem | None] = {}
        # Bumped by every invalidation: a read that overlapped a write does not cache its answer.
        self._generation = 0

    def invalidate(self) -> None:
        """Forget cached items and taxes (after any catalog write commits)."""
        self._generation += 1
        self._taxes.clear()
        self._items.clear()

    async def sellable(self, product_id: int, variant_id: int | None) -> SellableItem | None:
        """The item as a cart line needs it; None for an unknown or archived product/variant."""
        key = (product_id, variant_id)
        if key in self._items:
            return self._items[key]
        generation = self._generation
        row = await self._db.fetchone(SELLABLE, (variant_id, product_id))
        item = None
        if row is not None and (variant_id is None or row["variant_id"] is not None):
            item = SellableItem(
                product_id=row["id"],
                variant_id=variant_id,
                name=row["name"] if variant_id is None else f"{row['name']} / {row['variant_name']}",
                price=row["price"] if row["variant_price"] is None else row["variant_price"],
                is_promo=bool(row["is_promo"]),
                quantity_decimals=row["decimals"],
                track_stock=bool(row["track_stock"]),
            )
        if generation == self._generation:
            self._items[key] = item
        return item

    async def by_barcode(self, code: str) -> SellableItem | None:
        """The product or variant a normalised barcode belongs to (active ones only)."""
        row = await self._db.fetchone("SELECT product_id, variant_id FROM barcodes WHERE code = ?", (code,))
        return None if row is None else await self.sellable(row["product_id"], row["variant_id"])

    async def by_plu(self, plu: str) -> SellableItem | None:
        """The product with this item code as cut from a scale label (leading zeros ignored)."""
        row = await self._db.fetchone(
            "SELECT id FROM products WHERE plu = ? AND active = 1", (normal_plu(plu),)
        )
        return None if row is None else await self.sellable(row["id"], None)

    async def taxes_for(self, product_id: int, variant_id: int | None) -> tuple[TaxRate, ...]:
        """The product's rate, else its group's rates, else the store's default rate."""
        key = (product_id, variant_id)
        cached = self._taxes.get(key)
        if cached is not None:
            return cached
        generation = self._generation
        product = await self._db.fetchone(
            "SELECT tax_rate_id, tax_group_id FROM products WHERE id = ?", (product_id,)
        )
        if product is None:
            rows = []
        elif product["tax_rate_id"] is not None:
            rows = await self._db.fetchall("SELECT * FROM tax_rates WHERE id = ?", (product["tax_rate_id"],))
        elif product["tax_group_id"] is not None:
            rows = await self._db.fetchall(
                "SELECT t.* FROM tax_rates t JOIN tax_group_rates g ON g.rate_id = t.id "
                "WHERE g.group_id = ? ORDER BY t.priority, t.id",
                (product["tax_group_id"],),
            )
        else:
            rows = await self._db.fetchall("SELECT * FROM tax_rates WHERE is_default = 1 AND active = 1")
        taxes = tuple(_rate(row) for row in rows)
        if generation == self._generation:
            self._taxes[key] = taxes
        return taxes

    async def customer(self, customer_id: int) -> CustomerInfo | None:
        """An active customer's details for a sale (discount limit, invoice buyer)."""
        row = await self._db.fetchone("SELECT * FROM customers WHERE id = ? AND active = 1", (customer_id,))
        if row is None:
            return None
        percent = row["max_discount_percent"]
        return CustomerInfo(
            id=row["id"],
            name=row["name"],
            email=row["email"],
            company_name=row["company_name"],
            tax_id=row["tax_id"],
            address=row["address"],
            max_discount_percent=None if percent is None else Decimal(percent),
        )

    async def adjust_stock(
        self,
        tx: Transaction,
        product_id: int,
        variant_id: int | None,
        delta: Decimal,
        *,
        reason: str | None = None,
    ) -> None:
        """Move stock by ``delta`` (negative for a sale); never refuses: stock may go negative.

        Only products that track stock move; a variant with its own stock moves its own level.
        Each move is a ``stock_movements`` row ("sale", "return" or the ``reason`` given).
        """
        await move_stock(tx, product_id, variant_id, delta, reason or ("sale" if delta < 0 else "return"))
