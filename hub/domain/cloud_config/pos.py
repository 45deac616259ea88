"""Tenders, roles, employees, infocodes, sales targets, store settings and the JSON documents,
from the cloud, with the rules the hub's own services apply to them."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from hub.domain.cloud_config.catalog import percent
from hub.domain.cloud_config.context import ApplyContext, clash
from hub.domain.cloud_config.model import Item, rejected
from hub.domain.errors import Invalid
from hub.domain.permissions import EVERYTHING, ROLES
from hub.domain.sales.tenders import Tender
from hub.domain.targets.service import SalesTargets
from protocols.sync.config import EmployeeConfig, RoleConfig, TenderConfig
from protocols.sync.pos_entities import InfocodeIn, SalesTargetIn
from protocols.sync.store_settings import StoreSettings

ACTOR = "cloud:config"


async def write_tenders(ctx: ApplyContext, items: list[Item]) -> None:
    rows = []
    for item in items:
        body: TenderConfig = item.body
        try:
            # The checkout's own type: the id and name must fit what the terminal takes.
            msgspec.convert({"id": item.key, "name": body.name, "tender_type": body.tender_type}, Tender)
        except msgspec.ValidationError as exc:
            raise rejected("tenders", item.key, None, f"not a valid tender: {exc}") from None
        commission = (
            None
            if body.commission_percentage is None
            else percent(item, "commission_percentage", body.commission_percentage)
        )
        rows.append(
            (item.key, body.name, body.tender_type, body.printout_type, body.tender_use, body.cashdrawer,
             body.change_type, body.change_tender, body.eft, body.rounding, body.over_tender, body.under_tender,
             body.require_comment, body.sort_order, body.lunch_voucher, body.commission_tender, commission)
        )  # fmt: skip
    await ctx.tx.executemany(
        "INSERT INTO tenders (id, name, tender_type, printout_type, tender_use, cashdrawer, change_type, change_tender, "
        "eft, rounding, over_tender, under_tender, require_comment, sort_order, lunch_voucher, commission_tender, "
        "commission_percentage, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, tender_type = excluded.tender_type, "
        "printout_type = excluded.printout_type, tender_use = excluded.tender_use, cashdrawer = excluded.cashdrawer, "
        "change_type = excluded.change_type, change_tender = excluded.change_tender, eft = excluded.eft, "
        "rounding = excluded.rounding, over_tender = excluded.over_tender, under_tender = excluded.under_tender, "
        "require_comment = excluded.require_comment, sort_order = excluded.sort_order, "
        "lunch_voucher = excluded.lunch_voucher, commission_tender = excluded.commission_tender, "
        "commission_percentage = excluded.commission_percentage, active = 1",
        rows,
    )


def check_role(item: Item) -> None:
    if item.key not in ROLES:
        raise rejected("roles", item.key, None, f"no such role; roles are {', '.join(ROLES)}")


async def write_roles(ctx: ApplyContext, items: list[Item]) -> None:
    """Each role's permission set is replaced (a role never sent keeps its defaults)."""
    for item in items:
        check_role(item)
        body: RoleConfig = item.body
        unknown = sorted(set(body.permissions) - EVERYTHING)
        if unknown:
            raise rejected("roles", item.key, "permissions", f"unknown permissions: {', '.join(unknown)}")
        if item.key == "owner" and "staff" not in body.permissions:
            raise rejected("roles", item.key, "permissions", "the owner role keeps the staff permission")
        await ctx.tx.execute("DELETE FROM role_permissions WHERE role = ?", (item.key,))
        await ctx.tx.executemany(
            "INSERT INTO role_permissions (role, permission) VALUES (?, ?)",
            [(item.key, p) for p in sorted(set(body.permissions)) or ["none"]],
        )


async def reset_roles(ctx: ApplyContext, roles: list[str]) -> None:
    """A withdrawn role goes back to its defaults."""
    await ctx.tx.executemany("DELETE FROM role_permissions WHERE role = ?", [(r,) for r in roles])


async def write_employees(ctx: ApplyContext, items: list[Item]) -> None:
    nums: dict[int, str] = {}
    cards: dict[str, str] = {}
    rows = []
    for item in items:
        body: EmployeeConfig = item.body
        if body.cashier_num in nums:
            raise rejected(
                "employees", item.key, "cashier_num", f"employee {nums[body.cashier_num]} has it too"
            )
        nums[body.cashier_num] = item.key
        if body.cardnumber is not None:
            if body.cardnumber in cards:
                raise rejected(
                    "employees", item.key, "cardnumber", f"employee {cards[body.cardnumber]} has it too"
                )
            cards[body.cardnumber] = item.key
        rows.append(
            (item.id, body.cashier_num, body.name, body.role, body.location_id, body.pin_hash, body.training,
             body.manager, body.selfservice, body.cardnumber, body.pos_layout, body.layout_page, body.pos_language,
             percent(item, "commission_rate", body.commission_rate), body.phone, body.email, ctx.at, ctx.at)
        )  # fmt: skip
    ids = [(item.id,) for item in items]
    await ctx.tx.executemany("UPDATE employees SET cashier_num = -id, cardnumber = NULL WHERE id = ?", ids)
    await clash(
        ctx,
        section="employees",
        table="employees",
        column="cashier_num",
        wanted=nums,
        release="cashier_num = -id",
    )
    await clash(ctx, section="employees", table="employees", column="cardnumber", wanted=cards)
    await ctx.tx.executemany(
        "INSERT INTO employees (id, cashier_num, name, role, location_id, pin_hash, training, manager, selfservice, "
        "cardnumber, pos_layout, layout_page, pos_language, commission_rate, phone, email, active, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "cashier_num = excluded.cashier_num, name = excluded.name, role = excluded.role, "
        "location_id = excluded.location_id, pin_hash = excluded.pin_hash, training = excluded.training, "
        "manager = excluded.manager, selfservice = excluded.selfservice, cardnumber = excluded.cardnumber, "
        "pos_layout = excluded.pos_layout, layout_page = excluded.layout_page, pos_language = excluded.pos_language, "
        "commission_rate = excluded.commission_rate, phone = excluded.phone, email = excluded.email, active = 1, "
        "updated_at = excluded.updated_at",
        rows,
    )


async def write_infocodes(ctx: ApplyContext, items: list[Item]) -> None:
    codes: dict[str, str] = {}
    for item in items:
        body: InfocodeIn = item.body
        if body.code in codes:
            raise rejected("infocodes", item.key, "code", f"infocode {codes[body.code]} has it too")
        codes[body.code] = item.key
        if body.input_type == "functionbuttons" and not body.subcodes:
            raise rejected("infocodes", item.key, "subcodes", "a functionbuttons code needs its buttons")
        if body.input_type == "agelimit" and body.validation.minval is None:
            raise rejected("infocodes", item.key, "validation.minval", "an agelimit code needs the age")
    await ctx.tx.executemany(
        "UPDATE infocodes SET code = ? WHERE id = ?", [(f"\0{i.id}", i.id) for i in items]
    )
    await clash(
        ctx,
        section="infocodes",
        table="infocodes",
        column="code",
        wanted=codes,
        release="code = code || '~' || id",
    )
    for item in items:
        body = item.body
        await ctx.tx.execute(
            "INSERT INTO infocodes (id, code, prompt, description, trigger, input_type, subscription_type, validation, "
            "priority, once_per_receipt, printing, link, default_value, plu_id, dpt_id, grp_id, tender_id, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET "
            "code = excluded.code, prompt = excluded.prompt, description = excluded.description, "
            "trigger = excluded.trigger, input_type = excluded.input_type, subscription_type = excluded.subscription_type, "
            "validation = excluded.validation, priority = excluded.priority, once_per_receipt = excluded.once_per_receipt, "
            "printing = excluded.printing, link = excluded.link, default_value = excluded.default_value, "
            "plu_id = excluded.plu_id, dpt_id = excluded.dpt_id, grp_id = excluded.grp_id, tender_id = excluded.tender_id, "
            "active = 1",
            (item.id, body.code, body.prompt, body.description, body.trigger, body.input_type, body.subscription_type,
             msgspec.json.encode(body.validation).decode(), body.priority, body.once_per_receipt, body.printing,
             body.link, body.default, body.plu_id, body.dpt_id, body.grp_id, body.tender_id),
        )  # fmt: skip
        await _subcodes(ctx, item.id, body)


async def _subcodes(ctx: ApplyContext, infocode_id: int, body: InfocodeIn) -> None:
    """Sub-codes are matched by position and updated in place, so answers keep their link; one
    no longer sent is removed (answers keep its text, which they store as their value)."""
    tx = ctx.tx
    old = [
        r["id"]
        for r in await tx.fetchall(
            "SELECT id FROM infocode_subcodes WHERE infocode_id = ? ORDER BY id", (infocode_id,)
        )
    ]
    for n, sub in enumerate(body.subcodes):
        values = (sub.name, sub.description, sub.function, sub.target, sub.amount)
        if n < len(old):
            await tx.execute(
                "UPDATE infocode_subcodes SET name = ?, description = ?, function = ?, target = ?, amount = ? WHERE id = ?",
                (*values, old[n]),
            )
        else:
            await tx.execute(
                "INSERT INTO infocode_subcodes (infocode_id, name, description, function, target, amount) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (infocode_id, *values),
            )
    gone = [(i,) for i in old[len(body.subcodes) :]]
    await tx.executemany("UPDATE infocode_answers SET subcode_id = NULL WHERE subcode_id = ?", gone)
    await tx.executemany("DELETE FROM infocode_subcodes WHERE id = ?", gone)


async def write_sales_targets(ctx: ApplyContext, items: list[Item]) -> None:
    for item in items:
        body: SalesTargetIn = item.body
        location = body.location_id if body.location_id is not None else ctx.store_id
        if location != ctx.store_id:
            raise rejected(
                "sales_targets",
                item.key,
                "location_id",
                f"{location!r} is not this hub's store ({ctx.store_id!r})",
            )
        if body.end_date is not None and body.end_date < body.start_date:
            raise rejected(
                "sales_targets",
                item.key,
                "end_date",
                f"{body.end_date} is before start_date {body.start_date}",
            )
        if Decimal(body.data.multiplier) <= 0:
            raise rejected(
                "sales_targets", item.key, "data.multiplier", "the multiplier must be greater than 0"
            )
        scope = body.data.target
        if body.type == "PRODUCT_SALES_QTY" and (scope is None or scope.is_empty()):
            raise rejected(
                "sales_targets",
                item.key,
                "data.target",
                "a PRODUCT_SALES_QTY target needs products or categories",
            )
        if body.data.discount_id is not None and body.type != "DISCOUNT_SALES_QTY":
            raise rejected(
                "sales_targets",
                item.key,
                "data.discount_id",
                "only DISCOUNT_SALES_QTY targets take a discount",
            )
        if scope is not None:
            for table, ids, name in (
                ("products", scope.plu, "data.target.plu"),
                ("categories", [*scope.dpt, *scope.grp], "data.target.dpt"),
            ):
                sql = f"SELECT id FROM {table} WHERE id IN ({{marks}})"  # noqa: S608
                found = {r["id"] for r in await ctx.rows_in(sql, ids)}
                missing = sorted(set(ids) - found)
                if missing:
                    raise rejected("sales_targets", item.key, name, f"no such {table}: {missing}")
        await ctx.tx.execute(
            "INSERT INTO sales_targets (id, name, location_id, start_date, end_date, type, data, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "location_id = excluded.location_id, start_date = excluded.start_date, end_date = excluded.end_date, "
            "type = excluded.type, data = excluded.data, updated_at = excluded.updated_at",
            (item.id, body.name, location, body.start_date.isoformat(), body.end_date.isoformat() if body.end_date else None,
             body.type, msgspec.json.encode(body.data).decode(), ctx.at, ctx.at),
        )  # fmt: skip
        if body.days is not None:
            try:
                days = SalesTargets._checked_days(body.type, body.start_date, body.end_date, body.days)
            except Invalid as exc:
                raise rejected("sales_targets", item.key, "days", str(exc)) from None
            await ctx.tx.execute("DELETE FROM sales_target_data WHERE target_id = ?", (item.id,))
            await ctx.tx.executemany(
                "INSERT INTO sales_target_data (target_id, target_date, target_amount) VALUES (?, ?, ?)",
                [(item.id, day, amount) for day, amount in days],
            )


async def delete_sales_targets(ctx: ApplyContext, ids: list[int]) -> int:
    """Targets are goals, not facts: nothing references them, so a withdrawn one is removed
    (the targets service deletes them the same way)."""
    rows = [(i,) for i in ids]
    await ctx.tx.executemany("DELETE FROM sales_target_data WHERE target_id = ?", rows)
    before = await ctx.rows_in("SELECT id FROM sales_targets WHERE id IN ({marks})", ids)
    await ctx.tx.executemany("DELETE FROM sales_targets WHERE id = ?", rows)
    ctx.archived += len(before)
    return len(before)


async def write_store_settings(ctx: ApplyContext, item: Item, version: int) -> bool:
    """The settings document, versioned as the settings service keeps it; True when it changed."""
    settings: StoreSettings = item.body
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise rejected(
            "store_settings", item.key, "timezone", f"unknown time zone {settings.timezone!r}"
        ) from None
    body = msgspec.json.encode(settings).decode()
    current = await ctx.tx.fetchone("SELECT body FROM store_settings WHERE id = 1")
    if current is not None and msgspec.json.decode(current["body"], type=StoreSettings) == settings:
        return False
    await ctx.tx.execute(
        "INSERT INTO store_settings (id, version, body, updated_at, updated_by) VALUES (1, 1, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET version = version + 1, body = excluded.body, "
        "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        (body, ctx.at, f"{ACTOR}:{version}"),
    )
    return True


async def write_documents(ctx: ApplyContext, section: str, items: list[Item]) -> None:
    await ctx.tx.executemany(
        "INSERT INTO config_documents (section, key, body, revision, active, updated_at) VALUES (?, ?, ?, ?, 1, ?) "
        "ON CONFLICT (section, key) DO UPDATE SET body = excluded.body, revision = excluded.revision, active = 1, "
        "updated_at = excluded.updated_at",
        [(section, i.key, msgspec.json.encode(i.body).decode(), i.revision, ctx.at) for i in items],
    )


async def archive_documents(ctx: ApplyContext, section: str, keys: list[str] | None) -> None:
    """Archive the named documents, or (``keys`` None, a full delta) those it does not name."""
    if keys is None:
        cursor = await ctx.tx.execute(
            "UPDATE config_documents SET active = 0, updated_at = ? WHERE section = ? AND active = 1 AND key NOT IN "
            "(SELECT key FROM temp.config_named WHERE section = ?)",
            (ctx.at, section, section),
        )
        ctx.archived += max(cursor.rowcount, 0)
        return
    for key in keys:
        cursor = await ctx.tx.execute(
            "UPDATE config_documents SET active = 0, updated_at = ? WHERE section = ? AND key = ? AND active = 1",
            (ctx.at, section, key),
        )
        ctx.archived += max(cursor.rowcount, 0)
