"""Gift cards: a code with a balance, loaded here and spent by the ``giftcard`` tender at checkout."""

from __future__ import annotations

from hub.db.database import Database
from hub.domain import audit
from hub.domain.clock import now_iso
from hub.domain.sales.errors import SalesError


class GiftCards:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(self, code: str, amount: int, *, actor: str) -> None:
        """Create a card with ``amount`` or add it to an existing card's balance."""
        if not code.isalnum() or len(code) > 32:
            raise SalesError(
                "invalid_gift_card", "a gift card code is 1 to 32 letters and digits", status=422
            )
        now = now_iso()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO gift_cards (code, balance, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET balance = balance + excluded.balance, updated_at = excluded.updated_at",
                (code, amount, now, now),
            )
            await audit.record(
                tx, actor=actor, action="gift_card.loaded", target=code, details={"amount": amount}
            )

    async def balance(self, code: str) -> int | None:
        row = await self._db.fetchone("SELECT balance FROM gift_cards WHERE code = ?", (code,))
        return None if row is None else int(row["balance"])
