"""The RKSV cashbox kept in SQLite: the store :class:`drivers.signing.rksv.RksvAdapter` needs.

The state after each receipt is stored with the receipt in one row, so loading the newest row
gives the state and a crash can never leave a receipt without the counter it moved. The primary
key (the receipt number) and the unique request id make a second writer or a repeated request
fail instead of forking the chain.
"""

from __future__ import annotations

import sqlite3

import msgspec

from drivers.signing.rksv import RksvStoreConflict
from hub.db.database import Database
from hub.domain.clock import now_iso
from protocols.fiscal.receipt import FiscalResult
from protocols.signing.rksv_cashbox import RksvState


class SqliteRksvStore:
    """:class:`drivers.signing.rksv.RksvStateStore` on the hub's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> RksvState | None:
        row = await self._db.fetchone("SELECT state FROM rksv_receipts ORDER BY receipt_number DESC LIMIT 1")
        return None if row is None else msgspec.json.decode(row["state"], type=RksvState)

    async def commit(self, request_id: str, state: RksvState, result: FiscalResult) -> None:
        async with self._db.transaction(urgent=True) as tx:
            row = await tx.fetchone("SELECT max(receipt_number) FROM rksv_receipts")
            last = int(row[0]) if row is not None and row[0] is not None else 0
            if state.last_receipt_number != last + 1:
                raise RksvStoreConflict(f"receipt {state.last_receipt_number} does not follow {last}")
            try:
                await tx.execute(
                    "INSERT INTO rksv_receipts (receipt_number, request_id, state, result, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (state.last_receipt_number, request_id, msgspec.json.encode(state).decode(),
                     msgspec.json.encode(result).decode(), now_iso()),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise RksvStoreConflict(f"request {request_id!r} is already stored") from None

    async def find(self, request_id: str) -> FiscalResult | None:
        row = await self._db.fetchone("SELECT result FROM rksv_receipts WHERE request_id = ?", (request_id,))
        return None if row is None else msgspec.json.decode(row["result"], type=FiscalResult)
