"""The ``card_payments`` table: one row per attempt to take (or give back) money by card."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import msgspec

from drivers.base import PaymentOutcome, PaymentState
from hub.db.database import Database
from hub.domain.clock import now_iso

OPEN_STATES: tuple[PaymentState, ...] = ("started", "waiting_for_card", "unknown")
# A row's state: the terminal's (PaymentState), or 'reversed' for a payment a reversal gave back.
RowState = PaymentState | Literal["reversed"]
Kind = Literal["payment", "refund", "reversal"]


class CardPayment(msgspec.Struct, frozen=True, kw_only=True):
    """A card payment as the API and the websocket show it."""

    id: int
    reference: str
    sale_key: str
    line: int
    attempt: int
    kind: Kind
    terminal_id: str
    device_id: str
    amount: int
    state: RowState
    message: str | None
    outcome: PaymentOutcome | None
    sale_id: int | None
    created_at: str
    updated_at: str
    reverses: int | None = None  # a reversal: the payment it gives back


def _payment(row: Any) -> CardPayment:
    return CardPayment(
        id=row["id"], reference=row["reference"], sale_key=row["sale_key"], line=row["line"],
        attempt=row["attempt"], kind=row["kind"], terminal_id=row["terminal_id"], device_id=row["device_id"],
        amount=row["amount"], state=row["state"], message=row["message"],
        outcome=None if row["outcome"] is None else msgspec.json.decode(row["outcome"], type=PaymentOutcome),
        sale_id=row["sale_id"], created_at=row["created_at"], updated_at=row["updated_at"], reverses=row["reverses"],
    )  # fmt: skip


class CardPayments:
    """Reads and writes ``card_payments``; every write commits at once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(self, sale_key: str, line: int) -> CardPayment | None:
        row = await self._db.fetchone(
            "SELECT * FROM card_payments WHERE sale_key = ? AND line = ? ORDER BY attempt DESC LIMIT 1",
            (sale_key, line),
        )
        return None if row is None else _payment(row)

    async def get(self, payment_id: int) -> CardPayment | None:
        row = await self._db.fetchone("SELECT * FROM card_payments WHERE id = ?", (payment_id,))
        return None if row is None else _payment(row)

    async def open(self) -> list[CardPayment]:
        rows = await self._db.fetchall(
            "SELECT * FROM card_payments WHERE state IN ('started', 'waiting_for_card', 'unknown') ORDER BY id"
        )
        return [_payment(row) for row in rows]

    async def recent(self, limit: int = 50, *, state: str | None = None) -> list[CardPayment]:
        if state is None:
            rows = await self._db.fetchall("SELECT * FROM card_payments ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM card_payments WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit)
            )
        return [_payment(row) for row in rows]

    async def start(self, *, sale_key: str, line: int, kind: Kind, terminal_id: str, device_id: str, amount: int,
                    reverses: int | None = None) -> CardPayment:  # fmt: skip
        """Record a new attempt (committed before the terminal is asked)."""
        at = now_iso()
        async with self._db.transaction(urgent=True) as tx:
            row = await tx.fetchone(
                "SELECT coalesce(max(attempt), 0) FROM card_payments WHERE sale_key = ? AND line = ?",
                (sale_key, line),
            )
            attempt = int(row[0]) + 1 if row is not None else 1
            # What the terminal is told: short (ZVT has no room for long ids), unique per attempt.
            digest = int(hashlib.sha256(f"{sale_key}:{line}".encode()).hexdigest()[:12], 16) % 10**10
            reference = f"{digest:010d}-{attempt}"
            cursor = await tx.execute(
                "INSERT INTO card_payments (reference, sale_key, line, attempt, kind, terminal_id, device_id, amount, "
                "reverses, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'started', ?, ?)",
                (reference, sale_key, line, attempt, kind, terminal_id, device_id, amount, reverses, at, at),
            )
            payment_id = cursor.lastrowid
        assert payment_id is not None
        found = await self.get(payment_id)
        assert found is not None
        return found

    async def set_state(self, payment_id: int, state: PaymentState, *, outcome: PaymentOutcome | None = None,
                        message: str | None = None) -> CardPayment:  # fmt: skip
        async with self._db.transaction(urgent=True) as tx:
            await tx.execute(
                "UPDATE card_payments SET state = ?, outcome = coalesce(?, outcome), message = coalesce(?, message), "
                "updated_at = ? WHERE id = ?",
                (state, None if outcome is None else msgspec.json.encode(outcome).decode(), message, now_iso(),
                 payment_id),
            )  # fmt: skip
        found = await self.get(payment_id)
        assert found is not None
        return found

    async def mark_reversed(self, payment_id: int) -> bool:
        """The payment's money went back (its reversal was approved); False when it was not an
        approved payment any more."""
        async with self._db.transaction(urgent=True) as tx:
            cursor = await tx.execute(
                "UPDATE card_payments SET state = 'reversed', updated_at = ? WHERE id = ? AND state = 'approved'",
                (now_iso(), payment_id),
            )
            return bool(cursor.rowcount)

    async def attach_sale(self, sale_key: str, sale_id: int) -> None:
        """Link the approved payments of a checkout to the sale they paid for."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE card_payments SET sale_id = ?, updated_at = ? WHERE sale_key = ? AND state = 'approved'",
                (sale_id, now_iso(), sale_key),
            )
