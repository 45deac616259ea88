"""Infocodes: which prompts are due at a POS step, checking answers, and keeping them.

A step (adding a product, a price override, subtotal, a tender, voiding, a refund ...) asks
:meth:`Infocodes.require` for its trigger; while a required prompt is unanswered the step is
refused with ``409 infocode_required`` and the prompts in ``details``, and nothing changes.
The tablet answers (``POST .../answers``) and repeats the step.

Scopes: a prompt is asked once per *scope* in a conversation (a cart, or a refund's key):
``receipt`` for receipt-level triggers and for codes marked ``once_per_receipt``,
``product:<id>`` for product triggers, ``tender:<id>`` for tenders. When a product is sold,
SELL_PRODUCT (that product), SELL_DPT (its category) and SELL_GRP (its category's parent)
codes all apply. Prompts come in ascending ``priority``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from hub.db.database import Database
from hub.domain import audit, cloud_managed
from hub.domain.clock import now_iso
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.infocodes.schemas import (
    AnswerIn,
    AnswerView,
    InfocodeIn,
    InfocodeView,
    Prompt,
    SubcodeView,
    Validation,
)

SUBCODE_TYPES = ("functionbuttons", "textfunctionlist", "buttonsandother")


def _view(row: sqlite3.Row, subcodes: list[SubcodeView]) -> InfocodeView:
    return InfocodeView(
        id=row["id"], code=row["code"], prompt=row["prompt"], description=row["description"], trigger=row["trigger"],
        input_type=row["input_type"], validation=msgspec.json.decode(row["validation"], type=Validation),
        priority=row["priority"], once_per_receipt=bool(row["once_per_receipt"]), printing=row["printing"],
        default=row["default_value"], plu_id=row["plu_id"], dpt_id=row["dpt_id"], grp_id=row["grp_id"],
        tender_id=row["tender_id"], active=bool(row["active"]), subcodes=subcodes,
    )  # fmt: skip


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Infocodes:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Every cart step asks for its prompts; most stores have none for most triggers, so the
        # active codes are kept in memory (reloaded after a change) and the common answer,
        # "nothing due", costs no query.
        self._active: list[InfocodeView] | None = None

    # --- authoring -------------------------------------------------------------------------

    async def create(self, body: InfocodeIn, *, actor: str) -> InfocodeView:
        await cloud_managed.ensure_local(self._db, cloud_managed.INFOCODES)
        if body.input_type == "functionbuttons" and not body.subcodes:
            raise Invalid("subcodes_required", "a functionbuttons code needs its buttons (subcodes)")
        if body.input_type == "agelimit" and body.validation.minval is None:
            raise Invalid("age_required", "an agelimit code needs validation.minval: the age in years")
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO infocodes (code, prompt, description, trigger, input_type, subscription_type, validation, "
                    "priority, once_per_receipt, printing, link, default_value, plu_id, dpt_id, grp_id, tender_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (body.code, body.prompt, body.description, body.trigger, body.input_type, body.subscription_type,
                     msgspec.json.encode(body.validation).decode(), body.priority, body.once_per_receipt, body.printing,
                     body.link, body.default, body.plu_id, body.dpt_id, body.grp_id, body.tender_id),
                )  # fmt: skip
                assert row is not None
                await tx.executemany(
                    "INSERT INTO infocode_subcodes (infocode_id, name, description, function, target, amount) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (row["id"], s.name, s.description, s.function, s.target, s.amount)
                        for s in body.subcodes
                    ],
                )
                await audit.record(tx, actor=actor, action="infocode.created", target=f"infocode:{body.code}")
                tx.after_commit(self._forget)
        except sqlite3.IntegrityError:
            raise Conflict("duplicate_code", f"an infocode {body.code!r} exists") from None
        return await self.get(int(row["id"]))

    def _forget(self) -> None:
        self._active = None

    def invalidate(self) -> None:
        """Reload the active codes on next use (after the cloud config changed them)."""
        self._forget()

    async def get(self, infocode_id: int) -> InfocodeView:
        found = await self._load("id = ?", (infocode_id,))
        if not found:
            raise NotFound("infocode_not_found", f"no infocode {infocode_id}")
        return found[0]

    async def all(self) -> list[InfocodeView]:
        return await self._load("1", ())

    async def _load(self, where: str, params: Sequence[Any]) -> list[InfocodeView]:
        rows = await self._db.fetchall(f"SELECT * FROM infocodes WHERE {where} ORDER BY priority, id", params)  # noqa: S608
        subs: dict[int, list[SubcodeView]] = {}
        for s in await self._db.fetchall("SELECT * FROM infocode_subcodes ORDER BY id"):
            subs.setdefault(s["infocode_id"], []).append(
                SubcodeView(
                    id=s["id"],
                    name=s["name"],
                    description=s["description"],
                    function=s["function"],
                    target=s["target"],
                    amount=s["amount"],
                )
            )
        return [_view(r, subs.get(r["id"], [])) for r in rows]

    # --- which prompts are due -------------------------------------------------------------

    async def due(
        self,
        context: str,
        triggers: Sequence[str],
        *,
        product_id: int | None = None,
        tender_id: str | None = None,
    ) -> list[Prompt]:
        """Prompts of ``triggers`` not yet answered in ``context``, by priority."""
        if self._active is None:
            self._active = await self._load("active = 1", ())
        wanted = set(triggers)
        codes = [code for code in self._active if code.trigger in wanted]
        if not codes:
            return []
        category = parent = None
        if product_id is not None:
            row = await self._db.fetchone(
                "SELECT p.category_id, c.parent_id FROM products p LEFT JOIN categories c ON c.id = p.category_id WHERE p.id = ?",
                (product_id,),
            )
            category, parent = (row["category_id"], row["parent_id"]) if row else (None, None)
        answered = {
            (r["infocode_id"], r["scope"])
            for r in await self._db.fetchall(
                "SELECT infocode_id, scope FROM infocode_answers WHERE cart_id = ?", (context,)
            )
        }
        prompts = []
        for code in codes:
            if code.trigger == "SELL_PRODUCT" and code.plu_id not in (None, product_id):
                continue
            if code.trigger == "SELL_DPT" and (category is None or code.dpt_id not in (None, category)):
                continue
            if code.trigger == "SELL_GRP" and (parent is None or code.grp_id not in (None, parent)):
                continue
            if code.trigger == "TENDER" and code.tender_id not in (None, tender_id):
                continue
            scope = "receipt"
            if not code.once_per_receipt and code.trigger.startswith("SELL_"):
                scope = f"product:{product_id}"
            elif not code.once_per_receipt and code.trigger == "TENDER":
                scope = f"tender:{tender_id}"
            if (code.id, scope) not in answered:
                prompts.append(Prompt(infocode=code, scope=scope))
        return prompts

    async def require(
        self,
        context: str,
        triggers: Sequence[str],
        *,
        product_id: int | None = None,
        tender_id: str | None = None,
    ) -> None:
        """Refuse the step while a required prompt is unanswered (nothing is changed)."""
        missing = [p for p in await self.due(context, triggers, product_id=product_id, tender_id=tender_id)
                   if p.infocode.validation.required]  # fmt: skip
        if missing:
            names = ", ".join(p.infocode.prompt for p in missing)
            raise Conflict(
                "infocode_required",
                f"answer first: {names}",
                details={"prompts": msgspec.to_builtins(missing)},
            )

    # --- answers -------------------------------------------------------------------------------

    async def answer(self, context: str, body: AnswerIn, *, actor: str) -> AnswerView:
        code = await self.get(body.infocode_id)
        value, subcode = self._check(code, body)
        value = await self._check_reference(code, value)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO infocode_answers (cart_id, infocode_id, trigger, scope, value, subcode_id, answered_by, answered_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cart_id, infocode_id, scope) DO UPDATE SET value = excluded.value, "
                "subcode_id = excluded.subcode_id, answered_by = excluded.answered_by, answered_at = excluded.answered_at",
                (
                    context,
                    code.id,
                    code.trigger,
                    body.scope,
                    value,
                    subcode.id if subcode else None,
                    actor,
                    now_iso(),
                ),
            )
        return (await self.answers(context, infocode_id=code.id, scope=body.scope))[0]

    def _check(self, code: InfocodeView, body: AnswerIn) -> tuple[str, SubcodeView | None]:
        rules = code.validation
        subcode = None
        if body.subcode_id is not None:
            subcode = next((s for s in code.subcodes if s.id == body.subcode_id), None)
            if subcode is None or code.input_type not in SUBCODE_TYPES:
                raise Invalid("invalid_subcode", f"{code.code} has no button {body.subcode_id}")
            return subcode.name, subcode
        if code.input_type == "functionbuttons":
            raise Invalid("subcode_required", f"{code.code}: choose one of the buttons")
        value = body.value.strip() or (code.default or "")
        if not value:
            if rules.required:
                raise Invalid("answer_required", f"{code.prompt}: an answer is required")
            return value, None
        if code.input_type == "numeric":
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise Invalid("invalid_answer", f"{code.prompt}: {value!r} is not a number") from None
            if (rules.minval is not None and number < Decimal(rules.minval)) or (
                rules.maxval is not None and number > Decimal(rules.maxval)
            ):
                raise Invalid(
                    "answer_out_of_range", f"{code.prompt}: {value} is outside {rules.minval}..{rules.maxval}"
                )
        elif code.input_type in ("date", "agelimit"):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise Invalid(
                    "invalid_answer", f"{code.prompt}: {value!r} is not a date (YYYY-MM-DD)"
                ) from None
            if code.input_type == "agelimit" and _age(day, date.today()) < int(Decimal(rules.minval or "0")):
                raise Invalid("age_limit", f"{code.prompt}: the customer must be at least {rules.minval}")
        if rules.minlen is not None and len(value) < rules.minlen:
            raise Invalid("answer_too_short", f"{code.prompt}: at least {rules.minlen} characters")
        if rules.maxlen is not None and len(value) > rules.maxlen:
            raise Invalid("answer_too_long", f"{code.prompt}: at most {rules.maxlen} characters")
        return value, None

    async def _check_reference(self, code: InfocodeView, value: str) -> str:
        table = {"product": "products", "customer": "customers", "staff": "employees"}.get(code.input_type)
        if table is None or not value:
            return value
        sql = f"SELECT 1 FROM {table} WHERE id = ?"  # noqa: S608
        if not value.isdigit() or await self._db.fetchone(sql, (int(value),)) is None:
            raise Invalid("invalid_answer", f"{code.prompt}: no {code.input_type} {value}")
        return value

    async def receipt_lines(self, context: str) -> list[str]:
        """The answers of a conversation as the receipt prints them."""
        return printed_lines(await self.answers(context))

    async def answers(
        self, context: str, *, infocode_id: int | None = None, scope: str | None = None
    ) -> list[AnswerView]:
        rows = await self._db.fetchall(
            "SELECT a.*, i.code, i.prompt, i.printing, s.name AS subcode FROM infocode_answers a "
            "JOIN infocodes i ON i.id = a.infocode_id LEFT JOIN infocode_subcodes s ON s.id = a.subcode_id "
            "WHERE a.cart_id = ? AND (? IS NULL OR a.infocode_id = ?) AND (? IS NULL OR a.scope = ?) ORDER BY i.priority, a.id",
            (context, infocode_id, infocode_id, scope, scope),
        )
        return [
            AnswerView(id=r["id"], infocode_id=r["infocode_id"], code=r["code"], prompt=r["prompt"], scope=r["scope"],
                       value=r["value"], subcode=r["subcode"], printing=r["printing"], answered_by=r["answered_by"])
            for r in rows
        ]  # fmt: skip


def printed_lines(answers: Sequence[AnswerView]) -> list[str]:
    """What the receipt prints of the answers, as each code's ``printing`` says."""
    lines = []
    for a in answers:
        if a.printing == "printprompt":
            lines.append(f"{a.prompt}: {a.value}")
        elif a.printing == "printinput":
            lines.append(a.value)
        elif a.printing == "printtype":
            lines.append(f"{a.code}: {a.value}")
    return lines
