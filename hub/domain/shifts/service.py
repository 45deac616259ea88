"""Shifts: open with opening cash, close with counted cash, the 23:59 auto-close, reports.

Rules, as the help center's "Shifts & Cash Management" describes them:

* One open shift per terminal ("This terminal is occupied by ..."), one per employee.
* Fixed opening mode: an amount other than the store's standard float needs a reason.
* Late start and early close against the work hours (store time, with a threshold) need a
  reason, which the shift report keeps.
* Closing needs the mandatory checklist tasks of the day done; it stores expected, counted and
  difference per tender and prints the shift report.
* A shift still open at 23:59 store time is closed by the hub with the expected cash as the
  count, and the notification recipients get an e-mail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec

from drivers.errors import DeviceError
from hub.db.database import Database, Transaction
from hub.domain import audit, outbox
from hub.domain.clock import iso, now, parse_iso
from hub.domain.errors import Conflict, DomainError, Invalid, NotFound
from hub.domain.events import EventLog
from hub.domain.print_jobs import PrintJobs
from hub.domain.sales.checkout import Devices, EmailPort
from hub.domain.shifts import clock_rules, printouts, store_rules
from hub.domain.shifts.checklist import Checklist
from hub.domain.shifts.figures import ShiftFigures, shift_figures, with_counted
from hub.domain.shifts.schemas import CloseShift, MovementView, OpenShift, ShiftView
from hub.domain.staff.service import StaffSession
from hub.domain.store_settings import StoreSettings, StoreSettingsService
from protocols.escpos import ReceiptDocument, Separator, Text


def _movement(row: sqlite3.Row) -> MovementView:
    return MovementView(
        id=row["id"], kind=row["kind"], amount=row["amount"], tender_type=row["tender_type"], reason=row["reason"],
        receiver_id=row["receiver_id"], actor=row["actor"], at=row["at"],
    )  # fmt: skip


CardDay = Callable[[str], Awaitable[list[str] | None]]


class ShiftService:
    """Opening, closing and reading shifts; cash movements live in :mod:`cash`."""

    def __init__(
        self,
        db: Database,
        events: EventLog,
        jobs: PrintJobs,
        settings: StoreSettingsService,
        devices: Devices,
        email: EmailPort | None = None,
        clock: Callable[[], datetime] = now,
        card_day: CardDay | None = None,
    ) -> None:
        # Where configured, closing a shift closes the terminal's card day first.
        self._card_day = card_day
        self.db = db
        self._events = events
        self._jobs = jobs
        self._settings = settings
        self._devices = devices
        self._email = email
        self.clock = clock
        self.checklist = Checklist(db, settings, clock)

    async def _settings_now(self) -> StoreSettings:
        return (await self._settings.get()).settings

    async def current(self, terminal_id: str) -> sqlite3.Row | None:
        return await self.db.fetchone(
            "SELECT * FROM shifts WHERE terminal_id = ? AND state = 'open'", (terminal_id,)
        )

    async def require_open(self, terminal_id: str, staff: StaffSession | None = None) -> sqlite3.Row:
        shift = await self.current(terminal_id)
        if shift is None:
            raise Conflict("no_open_shift", f"start a shift on terminal {terminal_id} first")
        if staff is not None and shift["employee_id"] != staff.employee_id:
            raise Conflict(
                "terminal_occupied", f"This terminal is occupied by {await self._name(shift['employee_id'])}"
            )
        return shift

    async def _name(self, employee_id: int) -> str:
        row = await self.db.fetchone("SELECT name FROM employees WHERE id = ?", (employee_id,))
        return str(row["name"]) if row else f"employee {employee_id}"

    async def view(self, shift_id: int, *, report_job_id: int | None = None) -> ShiftView:
        row = await self.db.fetchone(
            "SELECT s.*, e.name AS employee_name FROM shifts s JOIN employees e ON e.id = s.employee_id WHERE s.id = ?",
            (shift_id,),
        )
        if row is None:
            raise NotFound("shift_not_found", f"no shift {shift_id}")
        if row["summary"]:
            figures = msgspec.json.decode(row["summary"], type=ShiftFigures)
        else:
            figures = await shift_figures(self.db, shift_id, row["opening_cash"])
        moves = await self.db.fetchall(
            "SELECT * FROM cash_movements WHERE shift_id = ? ORDER BY id", (shift_id,)
        )
        return ShiftView(
            id=row["id"], terminal_id=row["terminal_id"], employee_id=row["employee_id"], employee_name=row["employee_name"],
            state=row["state"], opened_at=row["opened_at"], opening_cash=row["opening_cash"],
            opening_reason=row["opening_reason"], late_minutes=row["late_minutes"], late_reason=row["late_reason"],
            closed_at=row["closed_at"], closed_by=row["closed_by"], auto_closed=bool(row["auto_closed"]),
            early_minutes=row["early_minutes"], early_reason=row["early_reason"], expense_notes=row["expense_notes"],
            figures=figures, movements=[_movement(m) for m in moves], report_job_id=report_job_id,
        )  # fmt: skip

    async def open(self, body: OpenShift, staff: StaffSession) -> ShiftView:
        settings = await self._settings_now()
        at = self.clock()
        if (
            settings.opening_cash_mode == "fixed"
            and body.opening_cash != settings.fixed_opening_cash
            and not body.opening_reason
        ):
            raise Invalid(
                "opening_reason_required",
                "the opening cash differs from the store's standard amount: give a reason",
                details={"standard": settings.fixed_opening_cash, "entered": body.opening_cash},
            )
        late = clock_rules.minutes_late(
            at, settings.timezone, settings.work_start, settings.late_threshold_min
        )
        if late and not body.late_reason:
            raise Invalid("late_reason_required", f"LATE: the shift starts {late} minutes after {settings.work_start}",
                          details={"late_minutes": late})  # fmt: skip
        occupant = await self.current(body.terminal_id)
        if occupant is not None:
            if occupant["employee_id"] == staff.employee_id:
                raise Conflict("shift_already_open", "your shift on this terminal is already open")
            raise Conflict(
                "terminal_occupied",
                f"This terminal is occupied by {await self._name(occupant['employee_id'])}",
            )
        elsewhere = await self.db.fetchone(
            "SELECT terminal_id FROM shifts WHERE employee_id = ? AND state = 'open'", (staff.employee_id,)
        )
        if elsewhere is not None:
            raise Conflict(
                "shift_open_elsewhere", f"close your shift on terminal {elsewhere['terminal_id']} first"
            )
        try:
            async with self.db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO shifts (terminal_id, employee_id, state, opened_at, opening_cash, opening_reason, "
                    "late_minutes, late_reason) VALUES (?, ?, 'open', ?, ?, ?, ?, ?) RETURNING id",
                    (body.terminal_id, staff.employee_id, iso(at), body.opening_cash, body.opening_reason, late,
                     body.late_reason if late else None),
                )  # fmt: skip
                assert row is not None
                fact = {"shift_id": row["id"], "terminal_id": body.terminal_id, "employee": staff.name,
                        "opening_cash": body.opening_cash, "late_minutes": late, "at": iso(at)}  # fmt: skip
                await audit.record(
                    tx, actor=staff.actor, action="shift.opened", target=f"shift:{row['id']}", details=fact
                )
                await outbox.append(tx, "shift.opened", fact)
                await self._events.append(tx, "shift.opened", fact)
                await self._notify(
                    tx,
                    settings,
                    f"Shift opened: {staff.name} on {body.terminal_id}",
                    fact,
                    f"shift-{row['id']}-open",
                )
        except sqlite3.IntegrityError:
            # Two tablets opened at the same instant: the unique index let one through.
            raise Conflict("terminal_occupied", "This terminal is occupied") from None
        return await self.view(int(row["id"]))

    async def close(
        self, shift_id: int, body: CloseShift, staff: StaffSession | None, *, actor: str
    ) -> ShiftView:
        settings = await self._settings_now()
        shift = await self._open_shift(shift_id)
        if (
            staff is not None
            and shift["employee_id"] != staff.employee_id
            and "z_report" not in staff.permissions
        ):
            raise DomainError(
                "not_your_shift", "only the shift's employee or a manager closes it", status=403
            )
        if "cash" not in body.counted:
            raise Invalid("cash_count_required", "count the cash in the drawer (counted.cash)")
        rules = (await self._settings.options()).shift_rules
        if store_rules.limits_difference(staff, rules):
            figures = await shift_figures(self.db, shift["id"], shift["opening_cash"])
            store_rules.check_difference(figures, body.counted["cash"], staff, rules)
        missing = await self.checklist.missing_mandatory(shift["terminal_id"])
        if missing:
            raise Conflict("checklist_incomplete", f"finish the checklist first: {', '.join(missing)}",
                           details={"tasks": missing})  # fmt: skip
        at = self.clock()
        early = clock_rules.minutes_early(
            at, settings.timezone, settings.work_end, settings.early_threshold_min
        )
        if early and not body.early_reason:
            raise Invalid("early_reason_required", f"the shift closes {early} minutes before {settings.work_end}",
                          details={"early_minutes": early})  # fmt: skip
        card_lines = await self._card_end_of_day(shift["id"], shift["terminal_id"])
        view = await self._close(shift, settings, counted=dict(body.counted), actor=actor, at=at, auto=False,
                                 early=early, early_reason=body.early_reason, notes=body.expense_notes,
                                 print_report=body.print_report)  # fmt: skip
        if card_lines:
            doc = printouts.document(settings, [Text(text=line) for line in card_lines])
            async with self.db.transaction() as tx:
                await printouts.queue_print(tx, self._jobs, self._devices.printers, settings, doc,
                                            key=f"shift-{shift['id']}-card-day", actor=actor)  # fmt: skip
        return store_rules.blinded(view, staff, rules)

    async def _card_end_of_day(self, shift_id: int, terminal_id: str) -> list[str]:
        """The card terminal's end of day, before the shift closes: a failure keeps it open. Run
        once per shift: a close retried after it ran reuses its report (see migration 0017)."""
        if self._card_day is None:
            return []
        done = await self.db.fetchone("SELECT lines FROM shift_card_days WHERE shift_id = ?", (shift_id,))
        if done is not None:
            return msgspec.json.decode(done["lines"], type=list[str])
        try:
            lines = await self._card_day(terminal_id) or []
        except DeviceError as exc:
            raise DomainError("card_end_of_day_failed", f"the card terminal's end of day failed: {exc}; "
                              "the shift stays open", status=503) from None  # fmt: skip
        async with self.db.transaction(urgent=True) as tx:
            await tx.execute(
                "INSERT INTO shift_card_days (shift_id, lines, closed_at) VALUES (?, ?, ?)",
                (shift_id, msgspec.json.encode(lines).decode(), iso(self.clock())),
            )
        return lines

    async def _open_shift(self, shift_id: int) -> sqlite3.Row:
        shift = await self.db.fetchone("SELECT * FROM shifts WHERE id = ?", (shift_id,))
        if shift is None:
            raise NotFound("shift_not_found", f"no shift {shift_id}")
        if shift["state"] != "open":
            raise Conflict("shift_closed", f"shift {shift_id} is already closed")
        return shift

    async def _close(
        self, shift: sqlite3.Row, settings: StoreSettings, *, counted: dict[str, int] | None, actor: str, at: datetime,
        auto: bool, early: int = 0, early_reason: str | None = None, notes: str = "", print_report: bool = True,
    ) -> ShiftView:  # fmt: skip
        job_id = None
        async with self.db.transaction(urgent=True) as tx:
            figures = await shift_figures(tx, shift["id"], shift["opening_cash"])
            # Auto-close: nobody counted, so the expected amounts stand as the count.
            count = counted if counted is not None else {t.tender_type: t.expected for t in figures.tenders}
            figures = with_counted(figures, count)
            cursor = await tx.execute(
                "UPDATE shifts SET state = 'closed', closed_at = ?, closed_by = ?, auto_closed = ?, early_minutes = ?, "
                "early_reason = ?, expense_notes = ?, summary = ? WHERE id = ? AND state = 'open'",
                (
                    iso(at),
                    actor,
                    auto,
                    early,
                    early_reason,
                    notes or None,
                    msgspec.json.encode(figures).decode(),
                    shift["id"],
                ),
            )
            if cursor.rowcount != 1:
                raise Conflict("shift_closed", f"shift {shift['id']} was closed meanwhile")
            action = "shift.auto_closed" if auto else "shift.closed"
            fact = {"shift_id": shift["id"], "terminal_id": shift["terminal_id"], "at": iso(at),
                    "figures": msgspec.to_builtins(figures)}  # fmt: skip
            await audit.record(tx, actor=actor, action=action, target=f"shift:{shift['id']}",
                               details={"expected_cash": figures.expected_cash, "counted_cash": count.get("cash")})  # fmt: skip
            await outbox.append(tx, "shift.closed", {**fact, "auto_closed": auto})
            await self._events.append(
                tx, action, {"shift_id": shift["id"], "terminal_id": shift["terminal_id"]}
            )
            await tx.execute(
                "UPDATE staff_sessions SET ended_at = ? WHERE terminal_id = ? AND ended_at IS NULL AND ?",
                (iso(at), shift["terminal_id"], auto),
            )
            subject = f"{'Shift auto-closed' if auto else 'Shift closed'}: terminal {shift['terminal_id']}"
            await self._notify(tx, settings, subject, fact, f"shift-{shift['id']}-close")
            if print_report:
                name = await self._name(shift["employee_id"])
                doc = shift_report(settings, shift, name, figures, iso(at), auto=auto)
                job_id = await printouts.queue_print(tx, self._jobs, self._devices.printers, settings, doc,
                                                     key=f"shift-{shift['id']}-report", actor=actor)  # fmt: skip
        return await self.view(shift["id"], report_job_id=job_id)

    async def auto_close_due(self) -> list[int]:
        """Close every shift still open at the store's auto-close time (23:59 unless the cloud's
        shift rules say otherwise, or never); returns their ids."""
        settings = await self._settings_now()
        rules = (await self._settings.options()).shift_rules
        at = self.clock()
        closed = []
        for shift in await self.db.fetchall("SELECT * FROM shifts WHERE state = 'open'"):
            due = store_rules.auto_close_moment(rules, parse_iso(shift["opened_at"]), settings.timezone)
            if due is not None and at >= due:
                try:
                    await self._close(
                        shift, settings, counted=None, actor="system:auto-close", at=at, auto=True
                    )
                except Conflict:
                    continue  # closed by a person in the meantime
                closed.append(int(shift["id"]))
        return closed

    async def _notify(
        self, tx: Transaction, settings: StoreSettings, subject: str, fact: dict[str, object], key: str
    ) -> None:
        if self._email is None:
            return
        text = "\n".join(f"{k}: {v}" for k, v in fact.items() if k != "figures")
        if "figures" in fact:
            text += "\n\n" + msgspec.json.format(msgspec.json.encode(fact["figures"])).decode()
        for address in settings.shift_notification_emails:
            await self._email.enqueue(
                tx, to=address, subject=subject, text=text, idempotency_key=f"{key}-{address}"
            )

    async def view_for(self, shift_id: int, staff: StaffSession | None) -> ShiftView:
        """The shift as ``staff`` may see it (the store may close blind)."""
        return store_rules.blinded(
            await self.view(shift_id), staff, (await self._settings.options()).shift_rules
        )

    async def list(
        self,
        *,
        state: str | None = None,
        terminal_id: str | None = None,
        limit: int = 50,
        staff: StaffSession | None = None,
    ) -> list[ShiftView]:
        where, params = ["1"], []  # type: list[str], list[object]
        if state:
            where.append("state = ?")
            params.append(state)
        if terminal_id:
            where.append("terminal_id = ?")
            params.append(terminal_id)
        rows = await self.db.fetchall(
            f"SELECT id FROM shifts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",  # noqa: S608
            [*params, limit],
        )
        rules = (await self._settings.options()).shift_rules
        return [store_rules.blinded(await self.view(int(r["id"])), staff, rules) for r in rows]

    async def print_report(self, shift_id: int, *, actor: str) -> int | None:
        view = await self.view(shift_id)
        settings = await self._settings_now()
        shift = await self.db.fetchone("SELECT * FROM shifts WHERE id = ?", (shift_id,))
        assert shift is not None
        assert view.figures is not None  # the unmasked view
        doc = shift_report(settings, shift, view.employee_name, view.figures, view.closed_at or iso(self.clock()),
                           auto=view.auto_closed)  # fmt: skip
        async with self.db.transaction() as tx:
            return await printouts.queue_print(
                tx,
                self._jobs,
                self._devices.printers,
                settings,
                doc,
                key=f"shift-{shift_id}-reprint-{iso(self.clock())}",
                actor=actor,
            )


def shift_report(
    settings: StoreSettings, shift: sqlite3.Row, employee: str, f: ShiftFigures, at: str, *, auto: bool
) -> ReceiptDocument:
    """The printed shift report: who, when, sales, cash movements, expected vs counted."""
    title = "IZVJEŠTAJ SMJENE" if settings.language.startswith(("bs", "hr", "sr")) else "SHIFT REPORT"
    lines = [f"#{shift['id']} {shift['terminal_id']} {employee}", f"{shift['opened_at']} - {at}"]
    if shift["late_minutes"]:
        lines.append(f"LATE {shift['late_minutes']} min: {shift['late_reason']}")
    if auto:
        lines.append("AUTO-CLOSED 23:59")
    blocks = printouts.header(settings, title, lines)
    blocks += printouts.rows(settings, [
        ("Opening cash", f.opening_cash), ("Receipts", str(f.receipts)), ("Sales", f.sales_total),
        ("Refunds", f.refunds_total), ("Cash sales", f.cash_sales), ("Card sales", f.card_sales),
        ("Cash in", f.cash_in), ("Cash out", f.cash_out), ("Handovers", f.handovers),
        ("Postal COD", f.postal_cod), ("Commission", f.commission), ("Expected cash", f.expected_cash),
    ])  # fmt: skip
    blocks.append(Separator())
    for t in f.tenders:
        blocks += printouts.rows(settings, [(f"{t.tender_type} expected", t.expected)])
        if t.counted is not None and t.difference is not None:
            blocks += printouts.rows(
                settings,
                [(f"{t.tender_type} counted", t.counted), (f"{t.tender_type} difference", t.difference)],
            )
    return printouts.document(settings, blocks)
