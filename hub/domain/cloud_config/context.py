"""What every section writer shares: the transaction, the time of the apply, counters, and
helpers for large ``IN (...)`` queries and unique-column clashes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hub.db.database import Transaction
from hub.domain.cloud_config.model import Decoded, rejected

T = TypeVar("T")
CHUNK = 500  # well under SQLite's bound-parameter limit


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(slots=True)
class ApplyContext:
    """One apply in progress (inside its transaction)."""

    tx: Transaction
    decoded: Decoded
    at: str
    full: bool
    store_id: str  # the store id the delta leaves in place (sales targets are checked against it)
    archived: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, section: str, n: int) -> None:
        if n:
            self.counts[section] = self.counts.get(section, 0) + n

    async def rows_in(self, sql: str, ids: Iterable[Any], extra: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """``sql`` holds ``{marks}`` where the ids go; run it chunk by chunk."""
        found: list[sqlite3.Row] = []
        for part in chunks(list(ids)):
            marks = ",".join("?" * len(part))
            found += await self.tx.fetchall(sql.format(marks=marks), (*part, *extra))
        return found

    async def archive(self, table: str, ids: Sequence[int | str], extra_set: str = "") -> int:
        """``active = 0`` for the active rows among ``ids``; returns how many changed."""
        changed = 0
        for part in chunks(list(ids)):
            marks = ",".join("?" * len(part))
            cursor = await self.tx.execute(
                f"UPDATE {table} SET active = 0{extra_set} WHERE active = 1 AND id IN ({marks})",  # noqa: S608
                part,
            )
            changed += max(cursor.rowcount, 0)
        self.archived += changed
        return changed

    async def archive_unnamed(self, table: str, section: str, extra_set: str = "") -> int:
        """A full delta: archive the active rows of ``table`` the delta does not name."""
        cast = "CAST(key AS INTEGER)" if table != "tenders" else "key"
        cursor = await self.tx.execute(
            f"UPDATE {table} SET active = 0{extra_set} WHERE active = 1 AND id NOT IN "  # noqa: S608
            f"(SELECT {cast} FROM temp.config_named WHERE section = ?)",
            (section,),
        )
        changed = max(cursor.rowcount, 0)
        self.archived += changed
        return changed


async def clash(
    ctx: ApplyContext,
    *,
    section: str,
    table: str,
    column: str,
    wanted: dict[Any, str],
    release_archived: bool = True,
    release: str = "",
) -> None:
    """Values of a unique ``column`` the delta gives (value -> item key) that another row
        already holds: an archived holder lets go of it (``release``, by default the column set to
    NULL), an active one rejects the delta.
        Rows of the delta must have had the column cleared before this is called."""
    if not wanted:
        return
    rows = await ctx.rows_in(
        f"SELECT id, {column} AS value, active FROM {table} WHERE {column} IN ({{marks}})",  # noqa: S608
        list(wanted),
    )
    for row in rows:
        key = wanted[row["value"]]
        if release_archived and not row["active"]:
            how = release or f"{column} = NULL"
            await ctx.tx.execute(f"UPDATE {table} SET {how} WHERE id = ?", (row["id"],))  # noqa: S608
            continue
        raise rejected(
            section, key, column, f"{row['value']!r} already belongs to {table.removesuffix('s')} {row['id']}"
        )
