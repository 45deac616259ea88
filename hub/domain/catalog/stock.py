"""Stock levels and their movements.

Stock is kept only for products with ``track_stock``; a variant with ``own_stock`` has its own
level, other variants draw from the product's. Every change is a row in ``stock_movements``
(how much, why, when) written in the transaction that made it: a sale or a refund (through
:meth:`CatalogAdapter.adjust_stock`) or a manual adjustment from the back office, which the
audit log also records with who made it. Nothing here refuses a sale: stock may go negative.
"""

from __future__ import annotations

from decimal import Decimal

from hub.db.database import Transaction
from hub.domain import outbox
from hub.domain.catalog.product_store import Reader, require_variant
from hub.domain.catalog.schemas import StockAdjustIn, StockMovementView
from hub.domain.clock import now_iso
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.money import format_signed_quantity


async def move_stock(
    tx: Transaction, product_id: int, variant_id: int | None, delta: Decimal, reason: str
) -> bool:
    """Add ``delta`` to the level that holds the item's stock; False when it is not tracked."""
    product = await tx.fetchone("SELECT track_stock, stock FROM products WHERE id = ?", (product_id,))
    if product is None or not product["track_stock"]:
        return False
    variant = None
    if variant_id is not None:
        variant = await tx.fetchone(
            "SELECT stock FROM variants WHERE id = ? AND product_id = ? AND own_stock = 1",
            (variant_id, product_id),
        )
    if variant is not None:
        level = format_signed_quantity(Decimal(variant["stock"]) + delta)
        await tx.execute("UPDATE variants SET stock = ? WHERE id = ?", (level, variant_id))
    else:
        level = format_signed_quantity(Decimal(product["stock"]) + delta)
        await tx.execute("UPDATE products SET stock = ? WHERE id = ?", (level, product_id))
    at = now_iso()
    await tx.execute(
        "INSERT INTO stock_movements (product_id, variant_id, delta, reason, at) VALUES (?, ?, ?, ?, ?)",
        (product_id, variant_id, format_signed_quantity(delta), reason, at),
    )
    fact = {
        "product_id": product_id,
        "variant_id": variant_id,
        "delta": format_signed_quantity(delta),
        "reason": reason,
        "at": at,
    }
    await outbox.append(tx, "stock.moved", fact)
    return True


async def current_level(tx: Transaction, product_id: int, variant_id: int | None) -> Decimal:
    """The level a change to this item moves (the variant's own, else the product's)."""
    if variant_id is not None:
        row = await tx.fetchone("SELECT stock FROM variants WHERE id = ? AND own_stock = 1", (variant_id,))
        if row is not None:
            return Decimal(row["stock"])
    row = await tx.fetchone("SELECT stock FROM products WHERE id = ?", (product_id,))
    return Decimal(row["stock"]) if row is not None else Decimal(0)


async def adjust(tx: Transaction, product_id: int, body: StockAdjustIn) -> Decimal:
    """A manual change: by ``delta``, or to the ``count`` found; returns the delta applied."""
    product = await tx.fetchone("SELECT track_stock FROM products WHERE id = ?", (product_id,))
    if product is None:
        raise NotFound("product_not_found", f"no product {product_id}")
    if not product["track_stock"]:
        raise Conflict("stock_not_tracked", f"product {product_id} does not track stock")
    if (body.delta is None) == (body.count is None):
        raise Invalid("delta_or_count", "give either delta (a change) or count (the new level)")
    if body.variant_id is not None:
        await require_variant(tx, product_id, body.variant_id)
    if body.delta is not None:
        delta = Decimal(body.delta)
    else:
        assert body.count is not None
        delta = Decimal(body.count) - await current_level(tx, product_id, body.variant_id)
    if delta == 0 and body.delta is not None:
        raise Invalid("zero_delta", "a stock change of 0 changes nothing")
    await move_stock(tx, product_id, body.variant_id, delta, f"adjustment: {body.reason}")
    return delta


async def movements(
    db: Reader, product_id: int, *, limit: int = 100, offset: int = 0
) -> list[StockMovementView]:
    """A product's stock movements (its variants' too), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM stock_movements WHERE product_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (product_id, limit, offset),
    )
    return [
        StockMovementView(
            id=r["id"],
            product_id=r["product_id"],
            variant_id=r["variant_id"],
            delta=r["delta"],
            reason=r["reason"],
            at=r["at"],
        )
        for r in rows
    ]
