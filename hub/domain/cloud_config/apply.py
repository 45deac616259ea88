"""Apply a config delta from the cloud in one transaction, or reject all of it.

1. Every body is decoded and every key checked before anything is written (:mod:`.model`).
2. In one write transaction: the version is checked against ``config_state`` (an old or equal
   version changes nothing), withdrawn rows are archived (tombstones, and on a full delta every
   row of a cloud-managed section the delta does not name), then each section is upserted in
   the contract's order, then references are checked on the result (:mod:`.checks`).
3. ``config_state``, ``config_items`` and an audit entry are written in the same transaction;
   the in-memory caches (catalog, tenders, settings, staff, infocodes) are dropped once it
   commits.

A failure anywhere rolls the whole transaction back, so the store keeps selling on the config
it had; the refusal is then recorded (``rejected_version`` and the error) and audited.
Sales keep the prices they were made at: a sale stores its own lines, and a cart line keeps
the price it was added at.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from hub.db.database import Database, Transaction
from hub.domain import audit, cloud_managed
from hub.domain.clock import now_iso
from hub.domain.cloud_config import catalog, pos
from hub.domain.cloud_config.checks import check_references
from hub.domain.cloud_config.context import ApplyContext
from hub.domain.cloud_config.model import (
    DOCUMENT_SECTIONS,
    AppliedConfig,
    ConfigRejected,
    ConfigState,
    Decoded,
    Item,
    decode_items,
)
from hub.domain.events import EventLog
from hub.domain.permissions import ROLES
from protocols.sync.config import SECTIONS, SINGLETON_KEY, ConfigDelta
from protocols.sync.store_settings import StoreSettings

log = logging.getLogger(__name__)

Writer = Callable[[ApplyContext, list[Item]], Awaitable[None]]
# Sections kept in a table of their own, with the table they archive in.
TABLE_WRITERS: dict[str, tuple[str, Writer]] = {
    "tax_rates": ("tax_rates", catalog.write_tax_rates),
    "tax_groups": ("tax_groups", catalog.write_tax_groups),
    "units": ("units", catalog.write_units),
    "categories": ("categories", catalog.write_categories),
    "products": ("products", catalog.write_products),
    "tenders": ("tenders", pos.write_tenders),
    "employees": ("employees", pos.write_employees),
    "infocodes": ("infocodes", pos.write_infocodes),
}


async def read_state(db: Database | Transaction) -> ConfigState:
    row = await db.fetchone("SELECT * FROM config_state WHERE id = 1")
    if row is None:
        return ConfigState()
    return ConfigState(
        applied_version=row["applied_version"],
        applied_at=row["applied_at"],
        rejected_version=row["rejected_version"],
        error=row["error"],
        error_at=row["error_at"],
    )


async def record_rejection(db: Database, version: int, error: str) -> None:
    """Remember (and audit) that ``version`` was refused; the applied config stays as it was."""
    at = now_iso()
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE config_state SET rejected_version = ?, error = ?, error_at = ? WHERE id = 1",
            (version, error, at),
        )
        await audit.record(
            tx,
            actor=pos.ACTOR,
            action="config.rejected",
            target=f"config:{version}",
            details={"error": error},
        )
    log.warning("config rejected", extra={"version": version, "error": error})


async def apply(
    db: Database,
    delta: ConfigDelta,
    *,
    invalidate: Sequence[Callable[[], None]] = (),
    events: EventLog | None = None,
) -> AppliedConfig:
    """Apply ``delta``; see the module docstring. Never raises for a bad delta: the outcome says.

    With ``events``, a ``config.applied`` websocket event (version and sections) goes out with
    the commit, so the POS pages reload what changed.
    """
    try:
        decoded = decode_items(delta)
        return await _apply(db, delta, decoded, invalidate, events)
    except ConfigRejected as exc:
        error = str(exc)
    except sqlite3.IntegrityError as exc:
        error = f"the config does not fit the store's data: {exc}"
    await record_rejection(db, delta.version, error)
    state = await read_state(db)
    return AppliedConfig(
        outcome="rejected", version=delta.version, applied_version=state.applied_version, error=error
    )


async def _apply(
    db: Database,
    delta: ConfigDelta,
    decoded: Decoded,
    invalidate: Sequence[Callable[[], None]],
    events: EventLog | None,
) -> AppliedConfig:
    async with db.transaction() as tx:
        state = await read_state(tx)
        if delta.version <= state.applied_version:
            return AppliedConfig(
                outcome="unchanged", version=delta.version, applied_version=state.applied_version
            )
        if not delta.full and delta.since > state.applied_version:
            raise ConfigRejected(
                f"the delta starts after version {delta.since}, but the hub runs on {state.applied_version}: "
                "items in between would be missing"
            )
        # References may point forwards within the delta (a category's parent, a change tender);
        # they are checked on the final state by check_references, and by SQLite at COMMIT.
        await tx.execute("PRAGMA defer_foreign_keys = ON")
        ctx = ApplyContext(
            tx=tx, decoded=decoded, at=now_iso(), full=delta.full, store_id=await _store_id(tx, decoded)
        )
        await _withdraw(ctx)
        await _write(ctx, delta.version)
        await check_references(tx)
        await tx.executemany(
            "INSERT INTO config_items (section, key, revision, deleted) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (section, key) DO UPDATE SET revision = excluded.revision, deleted = excluded.deleted",
            [(i.section, i.key, i.revision, i.deleted) for s in decoded.sections for i in decoded.items(s)],
        )
        await tx.execute(
            "UPDATE config_state SET applied_version = ?, applied_at = ? WHERE id = 1",
            (delta.version, ctx.at),
        )
        details = {"since": delta.since, "full": delta.full, "items": decoded.count(), "archived": ctx.archived,
                   "sections": ctx.counts}  # fmt: skip
        await audit.record(
            tx, actor=pos.ACTOR, action="config.applied", target=f"config:{delta.version}", details=details
        )
        if events is not None:
            await events.append(
                tx, "config.applied", {"version": delta.version, "sections": list(decoded.sections)}
            )
        tx.after_commit(lambda: cloud_managed.forget(db))
        for callback in invalidate:
            tx.after_commit(callback)
    log.info(
        "config applied", extra={"version": delta.version, "items": decoded.count(), "archived": ctx.archived}
    )
    return AppliedConfig(
        outcome="applied", version=delta.version, applied_version=delta.version, items=decoded.count(),
        archived=ctx.archived, counts=ctx.counts,
    )  # fmt: skip


async def _store_id(tx: Transaction, decoded: Decoded) -> str:
    """The store id once the delta is in (its settings, else the stored ones)."""
    pushed = decoded.sections.get("store_settings", {}).get(SINGLETON_KEY)
    if pushed is not None and pushed.body is not None:
        settings: StoreSettings = pushed.body
        return settings.store_id
    row = await tx.fetchone("SELECT body FROM store_settings WHERE id = 1")
    return (
        StoreSettings().store_id
        if row is None
        else msgspec.json.decode(row["body"], type=StoreSettings).store_id
    )


async def _managed(ctx: ApplyContext) -> set[str]:
    """Sections the cloud manages: those this delta names, and those it has ever sent."""
    rows = await ctx.tx.fetchall("SELECT DISTINCT section FROM config_items")
    return set(ctx.decoded.sections) | {r["section"] for r in rows}


async def _withdraw(ctx: ApplyContext) -> None:
    """Archive tombstoned rows, and on a full delta what it does not name in managed sections."""
    tx, decoded = ctx.tx, ctx.decoded
    managed = await _managed(ctx) if ctx.full else set()
    if ctx.full:
        await tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS config_named (section TEXT, key TEXT, PRIMARY KEY (section, key))"
        )
        await tx.execute("DELETE FROM temp.config_named")
        await tx.executemany(
            "INSERT INTO temp.config_named (section, key) VALUES (?, ?)",
            [(s, i.key) for s in decoded.sections for i in decoded.live(s)],
        )
    for section in SECTIONS:
        dead = decoded.dead(section)
        full = section in managed
        if section in TABLE_WRITERS:
            table, _ = TABLE_WRITERS[section]
            extra = catalog.ARCHIVE_EXTRA.get(table, "")
            keys: list[int | str] = [i.key if table == "tenders" else i.id for i in dead]
            n = await ctx.archive(table, keys, extra)
            if full:
                n += await ctx.archive_unnamed(table, section, extra)
            ctx.count(f"{section}.archived", n)
        elif section == "sales_targets":
            ids = [i.id for i in dead]
            if full:
                named = {i.id for i in decoded.live(section)}
                ids += [
                    r["id"] for r in await tx.fetchall("SELECT id FROM sales_targets") if r["id"] not in named
                ]
            ctx.count("sales_targets.deleted", await pos.delete_sales_targets(ctx, ids))
        elif section == "roles":
            for item in dead:
                pos.check_role(item)
            role_names = {i.key for i in decoded.live(section)}
            withdrawn = [i.key for i in dead] + ([r for r in ROLES if r not in role_names] if full else [])
            await pos.reset_roles(ctx, withdrawn)
        elif section in DOCUMENT_SECTIONS:
            await pos.archive_documents(ctx, section, [i.key for i in dead])
            if full:
                await pos.archive_documents(ctx, section, None)
        # store_settings: the store always has settings; a tombstone leaves them as they are.
    if ctx.full:
        await tx.execute("DELETE FROM temp.config_named")


async def _write(ctx: ApplyContext, version: int) -> None:
    for section, items in ctx.decoded.sections.items():
        live = [item for item in items.values() if not item.deleted]
        if not live:
            continue
        if section in TABLE_WRITERS:
            await TABLE_WRITERS[section][1](ctx, live)
        elif section == "roles":
            await pos.write_roles(ctx, live)
        elif section == "sales_targets":
            await pos.write_sales_targets(ctx, live)
        elif section == "store_settings":
            if not await pos.write_store_settings(ctx, live[0], version):
                continue
        else:
            await pos.write_documents(ctx, section, live)
        ctx.count(section, len(live))
