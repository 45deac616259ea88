"""Rows of sales, their lines, taxes and payments: writing a document and reading it back."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.fiscal.documents import view_for_sale
from hub.domain.sales.errors import NotFound
from hub.domain.sales.schemas import Buyer, PaymentView, SaleLineView, SaleView, TaxView


@dataclass(frozen=True, slots=True)
class SaleHeader:
    uuid: str
    doc_type: str
    number: int
    number_text: str
    store_id: str
    terminal_id: str
    training: bool
    idempotency_key: str
    request_hash: str
    cart_id: str | None
    customer_id: int | None
    buyer: Buyer | None
    seller: str
    refund_of: int | None
    reason: str | None
    approved_by: str | None
    currency: str
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    rounding: int
    paid_total: int
    change_total: int
    balance_due: int
    settings_version: int
    created_at: str


@dataclass(frozen=True, slots=True)
class LineWrite:
    line_no: int
    product_id: int | None
    variant_id: int | None
    name: str
    quantity: str
    unit_price: int
    gratis_quantity: str
    gross: int
    discount: int
    net: int
    total: int
    snapshot: str
    note: str
    refund_of_line: int | None


async def insert_document(
    tx: Transaction,
    header: SaleHeader,
    lines: list[LineWrite],
    taxes: list[TaxView],
    payments: list[PaymentView],
) -> int:
    """Write a sale, refund or invoice with its lines, taxes and payments; returns its id."""
    h = header
    row = await tx.fetchone(
        "INSERT INTO sales (uuid, doc_type, number, number_text, store_id, terminal_id, training, idempotency_key, "
        "request_hash, cart_id, customer_id, buyer, seller, refund_of, reason, approved_by, currency, subtotal, "
        "discount_total, tax_total, total, rounding, paid_total, change_total, balance_due, settings_version, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            h.uuid,
            h.doc_type,
            h.number,
            h.number_text,
            h.store_id,
            h.terminal_id,
            int(h.training),
            h.idempotency_key,
            h.request_hash,
            h.cart_id,
            h.customer_id,
            None if h.buyer is None else msgspec.json.encode(h.buyer).decode(),
            h.seller,
            h.refund_of,
            h.reason,
            h.approved_by,
            h.currency,
            h.subtotal,
            h.discount_total,
            h.tax_total,
            h.total,
            h.rounding,
            h.paid_total,
            h.change_total,
            h.balance_due,
            h.settings_version,
            h.created_at,
        ),
    )
    assert row is not None
    sale_id = int(row["id"])
    # executemany: one hop to the writer thread for all lines, however many there are.
    await tx.executemany(
        "INSERT INTO sale_lines (sale_id, line_no, product_id, variant_id, name, quantity, unit_price, "
        "gratis_quantity, gross, discount, net, total, snapshot, note, refund_of_line) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                sale_id,
                li.line_no,
                li.product_id,
                li.variant_id,
                li.name,
                li.quantity,
                li.unit_price,
                li.gratis_quantity,
                li.gross,
                li.discount,
                li.net,
                li.total,
                li.snapshot,
                li.note,
                li.refund_of_line,
            )
            for li in lines
        ],
    )
    await tx.executemany(
        "INSERT INTO sale_taxes (sale_id, rate_id, name, rate, inclusive, base, amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(sale_id, t.rate_id, t.name, t.rate, int(t.inclusive), t.base, t.amount) for t in taxes],
    )
    await tx.executemany(
        "INSERT INTO payments (sale_id, tender_id, tender_type, amount, tendered, change, rounding, reference, "
        "comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                sale_id,
                p.tender_id,
                p.tender_type,
                p.amount,
                p.tendered,
                p.change,
                p.rounding,
                p.reference,
                p.comment,
            )
            for p in payments
        ],
    )
    return sale_id


_SALE_COLUMNS = (
    "id, uuid, doc_type, number, number_text, terminal_id, training, customer_id, buyer, seller, refund_of, reason, approved_by, "
    "currency, subtotal, discount_total, tax_total, total, rounding, paid_total, change_total, balance_due, "
    "created_at, idempotency_key, request_hash"
)


async def find_by_key(db: Database | Transaction, key: str) -> tuple[int, str] | None:
    """(sale id, request hash) of the document made with idempotency ``key``."""
    rows = await db.fetchall("SELECT id, request_hash FROM sales WHERE idempotency_key = ?", (key,))
    return (int(rows[0]["id"]), rows[0]["request_hash"]) if rows else None


async def load_sale(db: Database | Transaction, sale_id: int) -> SaleView:
    rows = await db.fetchall(f"SELECT {_SALE_COLUMNS} FROM sales WHERE id = ?", (sale_id,))
    if not rows:
        raise NotFound("sale_not_found", f"sale {sale_id} does not exist")
    s = rows[0]
    lines = await db.fetchall(
        "SELECT id, line_no, product_id, variant_id, name, quantity, unit_price, gratis_quantity, gross, discount, "
        "net, total, note, refund_of_line, refunded_quantity FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
        (sale_id,),
    )
    taxes = await db.fetchall(
        "SELECT rate_id, name, rate, inclusive, base, amount FROM sale_taxes WHERE sale_id = ? ORDER BY rate_id",
        (sale_id,),
    )
    payments = await db.fetchall(
        "SELECT tender_id, tender_type, amount, tendered, change, rounding, reference, comment FROM payments "
        "WHERE sale_id = ? ORDER BY id",
        (sale_id,),
    )
    fiscal = await view_for_sale(db, sale_id)
    return SaleView(
        fiscal=fiscal,
        id=s["id"],
        uuid=s["uuid"],
        doc_type=s["doc_type"],
        number=s["number"],
        number_text=s["number_text"],
        terminal_id=s["terminal_id"],
        training=bool(s["training"]),
        customer_id=s["customer_id"],
        buyer=None if s["buyer"] is None else msgspec.json.decode(s["buyer"], type=Buyer),
        seller=s["seller"],
        refund_of=s["refund_of"],
        reason=s["reason"],
        approved_by=s["approved_by"],
        currency=s["currency"],
        subtotal=s["subtotal"],
        discount_total=s["discount_total"],
        tax_total=s["tax_total"],
        total=s["total"],
        rounding=s["rounding"],
        paid_total=s["paid_total"],
        change_total=s["change_total"],
        balance_due=s["balance_due"],
        created_at=s["created_at"],
        lines=[SaleLineView(**{k: r[k] for k in r.keys()}) for r in lines],  # noqa: SIM118
        taxes=[
            TaxView(
                rate_id=t["rate_id"],
                name=t["name"],
                rate=t["rate"],
                inclusive=bool(t["inclusive"]),
                base=t["base"],
                amount=t["amount"],
            )
            for t in taxes
        ],
        payments=[PaymentView(**{k: p[k] for k in p.keys()}) for p in payments],  # noqa: SIM118
    )


async def find_by_number(db: Database, number_text: str) -> int:
    rows = await db.fetchall("SELECT id FROM sales WHERE number_text = ?", (number_text,))
    if not rows:
        raise NotFound("sale_not_found", f"no document numbered {number_text}")
    return int(rows[0]["id"])
