"""The money a shift or a day holds, computed from the stored documents and cash movements.

Expected cash follows one formula (property-tested): opening cash + cash taken on sales
(after change, minus cash refunded) + cash in + COD cash received + cash commission sales -
cash out - cash handed over. Training documents never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

MOVEMENT_SIGN = {"cash_in": 1, "postal_cod": 1, "commission": 1, "cash_out": -1, "handover": -1}


class Reader(Protocol):
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...


class TenderFigure(msgspec.Struct, kw_only=True):
    tender_type: str
    expected: int
    counted: int | None = None
    difference: int | None = None


class ShiftFigures(msgspec.Struct, kw_only=True):
    """A shift's summary: what the help center's close screen and shift report show."""

    opening_cash: int
    receipts: int
    refunds: int
    sales_total: int
    refunds_total: int
    cash_sales: int
    card_sales: int
    cash_in: int
    cash_out: int
    handovers: int
    postal_cod: int
    commission: int
    expected_cash: int
    tenders: list[TenderFigure]


def expected_cash(opening: int, cash_payments: int, movements: dict[str, int]) -> int:
    """Opening + net cash on documents + signed cash movements (cash tender only)."""
    return opening + cash_payments + sum(MOVEMENT_SIGN[kind] * amount for kind, amount in movements.items())


async def shift_figures(db: Reader, shift_id: int, opening_cash: int) -> ShiftFigures:
    docs = await db.fetchall(
        "SELECT doc_type, COUNT(*) AS n, COALESCE(SUM(total), 0) AS total FROM sales "
        "WHERE shift_id = ? AND training = 0 GROUP BY doc_type",
        (shift_id,),
    )
    counts = {r["doc_type"]: (int(r["n"]), int(r["total"])) for r in docs}
    pays = await db.fetchall(
        "SELECT p.tender_type, COALESCE(SUM(p.amount), 0) AS amount FROM payments p JOIN sales s ON s.id = p.sale_id "
        "WHERE s.shift_id = ? AND s.training = 0 GROUP BY p.tender_type",
        (shift_id,),
    )
    by_tender = {r["tender_type"]: int(r["amount"]) for r in pays}
    moves = await db.fetchall(
        "SELECT kind, COALESCE(SUM(amount), 0) AS amount FROM cash_movements WHERE shift_id = ? AND tender_type = 'cash' "
        "GROUP BY kind",
        (shift_id,),
    )
    movements = {r["kind"]: int(r["amount"]) for r in moves}
    cash = expected_cash(opening_cash, by_tender.get("cash", 0), movements)
    tenders = {**by_tender, "cash": cash}
    return ShiftFigures(
        opening_cash=opening_cash,
        receipts=counts.get("receipt", (0, 0))[0] + counts.get("invoice", (0, 0))[0],
        refunds=counts.get("refund", (0, 0))[0],
        sales_total=counts.get("receipt", (0, 0))[1] + counts.get("invoice", (0, 0))[1],
        refunds_total=counts.get("refund", (0, 0))[1],
        cash_sales=by_tender.get("cash", 0),
        card_sales=by_tender.get("card", 0),
        cash_in=movements.get("cash_in", 0),
        cash_out=movements.get("cash_out", 0),
        handovers=movements.get("handover", 0),
        postal_cod=movements.get("postal_cod", 0),
        commission=movements.get("commission", 0),
        expected_cash=cash,
        tenders=[TenderFigure(tender_type=t, expected=a) for t, a in sorted(tenders.items())],
    )


def with_counted(figures: ShiftFigures, counted: dict[str, int]) -> ShiftFigures:
    """The figures with what was counted and the difference per tender (counted - expected)."""
    tenders = {t.tender_type: t.expected for t in figures.tenders}
    for tender_type in counted:
        tenders.setdefault(tender_type, 0)
    rows = [
        TenderFigure(
            tender_type=t,
            expected=expected,
            counted=counted.get(t),
            difference=None if t not in counted else counted[t] - expected,
        )
        for t, expected in sorted(tenders.items())
    ]
    return msgspec.structs.replace(figures, tenders=rows)
