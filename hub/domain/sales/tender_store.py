"""Tender definitions in the store: list, create or replace, deactivate; cached for checkout."""

from __future__ import annotations

import sqlite3

from hub.db.database import Database
from hub.domain import audit, cloud_managed
from hub.domain.sales.errors import Invalid, NotFound
from hub.domain.sales.tenders import Tender

_COLUMNS = (
    "id, name, tender_type, printout_type, tender_use, cashdrawer, change_type, change_tender, eft, rounding, "
    "over_tender, under_tender, require_comment, active, sort_order"
)


def _tender(row: sqlite3.Row) -> Tender:
    return Tender(
        id=row["id"],
        name=row["name"],
        tender_type=row["tender_type"],
        printout_type=row["printout_type"],
        tender_use=row["tender_use"],
        cashdrawer=row["cashdrawer"],
        change_type=row["change_type"],
        change_tender=row["change_tender"],
        eft=bool(row["eft"]),
        rounding=row["rounding"],
        over_tender=bool(row["over_tender"]),
        under_tender=bool(row["under_tender"]),
        require_comment=bool(row["require_comment"]),
        active=bool(row["active"]),
        sort_order=row["sort_order"],
    )


class TenderStore:
    """The terminal's payment methods (seed 001 fields), with a read cache."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, Tender] | None = None

    def invalidate(self) -> None:
        """Forget the cached tenders (after the cloud config wrote the table)."""
        self._cache = None

    async def all(self) -> dict[str, Tender]:
        if self._cache is None:
            rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM tenders ORDER BY sort_order, id")
            self._cache = {row["id"]: _tender(row) for row in rows}
        return self._cache

    async def get(self, tender_id: str) -> Tender:
        tender = (await self.all()).get(tender_id)
        if tender is None:
            raise NotFound("tender_not_found", f"no tender {tender_id!r}")
        return tender

    async def put(self, tender: Tender, *, actor: str) -> Tender:
        """Create or replace a tender (it keeps its id, so past payments still name it)."""
        await cloud_managed.ensure_local(self._db, cloud_managed.TENDERS)
        tenders = await self.all()
        if (
            tender.change_tender is not None
            and tender.change_tender not in tenders
            and tender.change_tender != tender.id
        ):
            raise Invalid("invalid_change_tender", f"change_tender {tender.change_tender!r} is not a tender")
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR REPLACE INTO tenders ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tender.id,
                    tender.name,
                    tender.tender_type,
                    tender.printout_type,
                    tender.tender_use,
                    tender.cashdrawer,
                    tender.change_type,
                    tender.change_tender,
                    int(tender.eft),
                    tender.rounding,
                    int(tender.over_tender),
                    int(tender.under_tender),
                    int(tender.require_comment),
                    int(tender.active),
                    tender.sort_order,
                ),
            )
            await audit.record(tx, actor=actor, action="tender.saved", target=tender.id, details={})
        self._cache = None
        return tender
