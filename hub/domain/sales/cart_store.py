"""Rows of carts and cart lines: reading and writing them, nothing about prices or rules."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.money import format_quantity
from hub.domain.sales.errors import NotFound, SalesError
from hub.domain.sales.schemas import DiscountIn


@dataclass(frozen=True, slots=True)
class CartRow:
    id: str
    terminal_id: str
    state: str
    customer_id: int | None
    discount: DiscountIn | None
    hold_note: str | None
    training: bool
    created_by: str
    created_at: str
    updated_at: str
    sale_id: int | None


@dataclass(frozen=True, slots=True)
class LineRow:
    id: int
    product_id: int
    variant_id: int | None
    name: str
    unit_price: int
    price_overridden: bool
    quantity: Decimal
    gratis: bool
    discount: DiscountIn | None
    note: str
    source_barcode: str | None


def _discount(text: str | None) -> DiscountIn | None:
    return None if text is None else msgspec.json.decode(text, type=DiscountIn)


def encode_discount(discount: DiscountIn | None) -> str | None:
    return None if discount is None else msgspec.json.encode(discount).decode()


def _cart(row: sqlite3.Row) -> CartRow:
    return CartRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        state=row["state"],
        customer_id=row["customer_id"],
        discount=_discount(row["discount"]),
        hold_note=row["hold_note"],
        training=bool(row["training"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sale_id=row["sale_id"],
    )


def _line(row: sqlite3.Row) -> LineRow:
    return LineRow(
        id=row["id"],
        product_id=row["product_id"],
        variant_id=row["variant_id"],
        name=row["name"],
        unit_price=row["unit_price"],
        price_overridden=bool(row["price_overridden"]),
        quantity=Decimal(row["quantity"]),
        gratis=bool(row["gratis"]),
        discount=_discount(row["discount"]),
        note=row["note"],
        source_barcode=row["source_barcode"],
    )


_CART_COLUMNS = "id, terminal_id, state, customer_id, discount, hold_note, training, created_by, created_at, updated_at, sale_id"
_LINE_COLUMNS = "id, product_id, variant_id, name, unit_price, price_overridden, quantity, gratis, discount, note, source_barcode"


async def load_cart(db: Database | Transaction, cart_id: str) -> tuple[CartRow, list[LineRow]]:
    """A cart and its lines in the order they were added; NotFound if there is no such cart."""
    rows = await db.fetchall(f"SELECT {_CART_COLUMNS} FROM carts WHERE id = ?", (cart_id,))
    if not rows:
        raise NotFound("cart_not_found", f"cart {cart_id} does not exist")
    lines = await db.fetchall(
        f"SELECT {_LINE_COLUMNS} FROM cart_lines WHERE cart_id = ? ORDER BY id",
        (cart_id,),
    )
    return _cart(rows[0]), [_line(row) for row in lines]


async def list_carts(db: Database, *, state: str, terminal_id: str | None) -> list[CartRow]:
    where, params = "state = ?", [state]
    if terminal_id:
        where += " AND terminal_id = ?"
        params.append(terminal_id)
    rows = await db.fetchall(
        f"SELECT {_CART_COLUMNS} FROM carts WHERE {where} ORDER BY updated_at DESC LIMIT 200",
        params,
    )
    return [_cart(row) for row in rows]


def require_open(cart: CartRow) -> None:
    if cart.state != "open":
        raise SalesError("cart_not_open", f"cart {cart.id} is {cart.state}")


async def insert_line(tx: Transaction, cart_id: str, line: LineRow) -> int:
    row = await tx.fetchone(
        "INSERT INTO cart_lines (cart_id, product_id, variant_id, name, unit_price, price_overridden, "
        "quantity, gratis, discount, note, source_barcode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            cart_id,
            line.product_id,
            line.variant_id,
            line.name,
            line.unit_price,
            int(line.price_overridden),
            format_quantity(line.quantity),
            int(line.gratis),
            encode_discount(line.discount),
            line.note,
            line.source_barcode,
        ),
    )
    assert row is not None
    return int(row["id"])


async def update_line(tx: Transaction, line: LineRow) -> None:
    await tx.execute(
        "UPDATE cart_lines SET unit_price = ?, price_overridden = ?, quantity = ?, gratis = ?, discount = ?, "
        "note = ? WHERE id = ?",
        (
            line.unit_price,
            int(line.price_overridden),
            format_quantity(line.quantity),
            int(line.gratis),
            encode_discount(line.discount),
            line.note,
            line.id,
        ),
    )


async def touch(tx: Transaction, cart_id: str, now: str, **fields: object) -> None:
    """Set ``fields`` (column=value) and ``updated_at`` on a cart."""
    assignments = "".join(f"{name} = ?, " for name in fields)
    await tx.execute(
        f"UPDATE carts SET {assignments}updated_at = ? WHERE id = ?",
        (*fields.values(), now, cart_id),
    )
