"""The daily (weekly, monthly) checklist whose mandatory tasks must be done before closing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hub.db.database import Database
from hub.domain import audit
from hub.domain.clock import iso
from hub.domain.errors import NotFound
from hub.domain.shifts.clock_rules import period_key
from hub.domain.shifts.schemas import ChecklistItem, ChecklistTaskIn
from hub.domain.store_settings import StoreSettingsService


class Checklist:
    def __init__(self, db: Database, settings: StoreSettingsService, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock

    async def add_task(self, body: ChecklistTaskIn, *, actor: str) -> int:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO checklist_tasks (name, mandatory, frequency) VALUES (?, ?, ?) RETURNING id",
                (body.name, body.mandatory, body.frequency),
            )
            assert row is not None
            await audit.record(
                tx,
                actor=actor,
                action="checklist.task_added",
                target=f"task:{row['id']}",
                details={"name": body.name},
            )
        return int(row["id"])

    async def items(self, terminal_id: str) -> list[ChecklistItem]:
        timezone = (await self._settings.get()).settings.timezone
        at = self._clock()
        items = []
        for task in await self._db.fetchall("SELECT * FROM checklist_tasks WHERE active = 1 ORDER BY id"):
            done = await self._db.fetchone(
                "SELECT done_by FROM checklist_done WHERE task_id = ? AND period = ? AND terminal_id = ?",
                (task["id"], period_key(at, timezone, task["frequency"]), terminal_id),
            )
            items.append(ChecklistItem(id=task["id"], name=task["name"], mandatory=bool(task["mandatory"]),
                                       frequency=task["frequency"], done=done is not None,
                                       done_by=done["done_by"] if done else None))  # fmt: skip
        return items

    async def mark_done(self, task_id: int, terminal_id: str, *, actor: str) -> list[ChecklistItem]:
        timezone = (await self._settings.get()).settings.timezone
        task = await self._db.fetchone(
            "SELECT * FROM checklist_tasks WHERE id = ? AND active = 1", (task_id,)
        )
        if task is None:
            raise NotFound("task_not_found", f"no checklist task {task_id}")
        at = self._clock()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO checklist_done (task_id, period, terminal_id, done_by, done_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (task_id, period_key(at, timezone, task["frequency"]), terminal_id, actor, iso(at)),
            )
        return await self.items(terminal_id)

    async def missing_mandatory(self, terminal_id: str) -> list[str]:
        return [item.name for item in await self.items(terminal_id) if item.mandatory and not item.done]
