"""Gap-free document numbers per store, terminal and document type.

The counter row is incremented inside the transaction that writes the document, so the number
and the document commit or roll back together: no gaps, no duplicates, even across a crash.
Training sales draw from their own series, so practice never consumes a real number.
"""

from __future__ import annotations

from typing import Literal

from hub.db.database import Transaction

DocType = Literal["receipt", "invoice", "refund"]

PREFIX: dict[str, str] = {"receipt": "R", "invoice": "F", "refund": "P"}
"""Series letters on the printed number: Račun, Faktura, Povrat (the store's first market)."""


async def next_number(
    tx: Transaction, *, store_id: str, terminal_id: str, doc_type: DocType, training: bool
) -> int:
    series = f"training-{doc_type}" if training else doc_type
    row = await tx.fetchone(
        "INSERT INTO number_series (store_id, terminal_id, doc_type, last_number) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (store_id, terminal_id, doc_type) DO UPDATE SET last_number = last_number + 1 "
        "RETURNING last_number",
        (store_id, terminal_id, series),
    )
    assert row is not None
    return int(row["last_number"])


def number_text(*, terminal_id: str, doc_type: DocType, number: int, training: bool) -> str:
    """The printed form: ``T1-R-000042`` (``TR-`` in front for training)."""
    text = f"{terminal_id}-{PREFIX[doc_type]}-{number:06d}"
    return f"TR-{text}" if training else text
