"""Employees, the permission matrix, PIN and card login, and staff sessions.

A staff session is bound to the paired device that opened it: the session token alone is
useless from another tablet. Sessions are cached in memory (every API call resolves one) and
the cache is dropped whenever employees or the matrix change.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.db.database import Database
from hub.domain import audit, cloud_managed
from hub.domain.clock import iso, now
from hub.domain.errors import Conflict, DomainError, Invalid, NotFound
from hub.domain.money import format_percent, parse_percent
from hub.domain.permissions import CASHIER, EVERYTHING, MANAGER_FLAG, PERMISSIONS, ROLE_DEFAULTS, ROLES, Role
from hub.domain.staff import pins
from hub.domain.staff.schemas import (
    EmployeeIn,
    EmployeePatch,
    EmployeeView,
    MatrixView,
    PinLogin,
    SessionView,
)


class Unauthorized(DomainError):
    status = 401


class LockedOut(DomainError):
    status = 429


@dataclass(frozen=True, slots=True)
class StaffSession:
    """The employee acting through a request."""

    token_hash: str
    device: str
    employee_id: int
    cashier_num: int
    name: str
    role: Role
    terminal_id: str
    preview: bool
    training: bool
    permissions: frozenset[str]

    @property
    def actor(self) -> str:
        return f"employee:{self.cashier_num}:{self.name}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def employee_view(row: sqlite3.Row) -> EmployeeView:
    return EmployeeView(
        id=row["id"], cashier_num=row["cashier_num"], name=row["name"], role=row["role"],
        location_id=row["location_id"], training=bool(row["training"]), manager=bool(row["manager"]),
        selfservice=bool(row["selfservice"]), has_card=row["cardnumber"] is not None, pos_layout=row["pos_layout"],
        layout_page=row["layout_page"], pos_language=row["pos_language"], commission_rate=row["commission_rate"],
        active=bool(row["active"]),
    )  # fmt: skip


class StaffService:
    """Employees, roles and who is logged in where."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = now) -> None:
        self._db = db
        self._clock = clock
        self._sessions: dict[str, StaffSession] = {}
        self._matrix: dict[str, frozenset[str]] | None = None
        self._has_employees: bool | None = None

    def _forget(self) -> None:
        self._sessions.clear()
        self._matrix = None
        self._has_employees = None

    def invalidate(self) -> None:
        """Drop cached sessions and the matrix (after the cloud config changed staff or roles)."""
        self._forget()

    # --- the permission matrix -----------------------------------------------------------

    async def matrix(self) -> dict[str, frozenset[str]]:
        if self._matrix is None:
            rows = await self._db.fetchall("SELECT role, permission FROM role_permissions")
            stored: dict[str, set[str]] = {}
            for row in rows:
                stored.setdefault(row["role"], set()).add(row["permission"])
            # A role never edited keeps its defaults; an edited role is exactly what was saved
            # (a "none" marker row lets an admin take every permission away).
            self._matrix = {
                role: frozenset(stored[role] - {"none"}) if role in stored else ROLE_DEFAULTS[role]
                for role in ROLES
            }
        return self._matrix

    async def matrix_view(self) -> MatrixView:
        matrix = await self.matrix()
        return MatrixView(permissions=PERMISSIONS, roles={role: sorted(matrix[role]) for role in ROLES})

    async def set_role(self, role: str, permissions: list[str], *, actor: str) -> MatrixView:
        await cloud_managed.ensure_local(self._db, cloud_managed.ROLES)
        if role not in ROLES:
            raise NotFound("role_not_found", f"no role {role!r}; roles are {', '.join(ROLES)}")
        unknown = sorted(set(permissions) - EVERYTHING)
        if unknown:
            raise Invalid(
                "unknown_permission",
                f"unknown permissions: {', '.join(unknown)}",
                details={"unknown": unknown},
            )
        if role == "owner" and "staff" not in permissions:
            raise Invalid(
                "owner_keeps_staff", "the owner role keeps the staff permission, so nobody is locked out"
            )
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM role_permissions WHERE role = ?", (role,))
            await tx.executemany(
                "INSERT INTO role_permissions (role, permission) VALUES (?, ?)",
                [(role, p) for p in sorted(set(permissions)) or ["none"]],
            )
            await audit.record(
                tx,
                actor=actor,
                action="permissions.changed",
                target=f"role:{role}",
                details={"permissions": sorted(permissions)},
            )
        self._forget()
        return await self.matrix_view()

    # --- employees -------------------------------------------------------------------------

    async def has_employees(self) -> bool:
        if self._has_employees is None:
            row = await self._db.fetchone("SELECT EXISTS (SELECT 1 FROM employees WHERE active = 1) AS any_")
            self._has_employees = bool(row and row["any_"])
        return self._has_employees

    async def employees(self) -> list[EmployeeView]:
        rows = await self._db.fetchall("SELECT * FROM employees ORDER BY cashier_num")
        return [employee_view(r) for r in rows]

    async def employee_row(self, employee_id: int) -> sqlite3.Row:
        row = await self._db.fetchone("SELECT * FROM employees WHERE id = ?", (employee_id,))
        if row is None:
            raise NotFound("employee_not_found", f"no employee {employee_id}")
        return row

    async def employee(self, employee_id: int) -> EmployeeView:
        return employee_view(await self.employee_row(employee_id))

    async def create(self, body: EmployeeIn, *, actor: str) -> EmployeeView:
        await cloud_managed.ensure_local(self._db, cloud_managed.EMPLOYEES)
        parse_percent(body.commission_rate)
        pin_hash = await pins.hash_pin(body.pin)
        at = iso(self._clock())
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO employees (cashier_num, name, role, location_id, pin_hash, training, manager, selfservice, "
                    "cardnumber, pos_layout, layout_page, pos_language, commission_rate, phone, email, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (body.cashier_num, body.name, body.role, body.location_id, pin_hash, body.training, body.manager,
                     body.selfservice, body.cardnumber, body.pos_layout, body.layout_page, body.pos_language,
                     format_percent(parse_percent(body.commission_rate)), body.phone, body.email, at, at),
                )  # fmt: skip
                assert row is not None
                await audit.record(
                    tx,
                    actor=actor,
                    action="employee.created",
                    target=f"employee:{row['id']}",
                    details={"role": body.role},
                )
        except sqlite3.IntegrityError as exc:
            field = "cardnumber" if "cardnumber" in str(exc) else "cashier_num"
            raise Conflict(f"duplicate_{field}", f"another employee has this {field}") from None
        self._forget()
        return await self.employee(int(row["id"]))

    async def update(self, employee_id: int, body: EmployeePatch, *, actor: str) -> EmployeeView:
        await cloud_managed.ensure_local(self._db, cloud_managed.EMPLOYEES)
        await self.employee(employee_id)
        fields = {
            k: getattr(body, k)
            for k in (
                "name",
                "role",
                "location_id",
                "training",
                "manager",
                "selfservice",
                "cardnumber",
                "pos_language",
                "active",
            )
            if getattr(body, k) is not None
        }
        if body.commission_rate is not None:
            fields["commission_rate"] = format_percent(parse_percent(body.commission_rate))
        if body.pin is not None:
            fields["pin_hash"] = await pins.hash_pin(body.pin)
        fields["updated_at"] = iso(self._clock())
        try:
            async with self._db.transaction() as tx:
                await tx.execute(
                    f"UPDATE employees SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",  # noqa: S608
                    (*fields.values(), employee_id),
                )
                changed = sorted(k for k in fields if k != "updated_at")
                await audit.record(
                    tx,
                    actor=actor,
                    action="employee.updated",
                    target=f"employee:{employee_id}",
                    details={"fields": changed},
                )
        except sqlite3.IntegrityError:
            raise Conflict("duplicate_cardnumber", "another employee has this card") from None
        self._forget()
        return await self.employee(employee_id)

    async def permissions_of(self, row: sqlite3.Row) -> frozenset[str]:
        granted = (await self.matrix())[row["role"]]
        return granted | MANAGER_FLAG if row["manager"] else granted

    # --- login -------------------------------------------------------------------------------

    async def _find(self, request: PinLogin) -> sqlite3.Row | None:
        if request.cardnumber is not None:
            return await self._db.fetchone(
                "SELECT * FROM employees WHERE cardnumber = ? AND active = 1", (request.cardnumber,)
            )
        return await self._db.fetchone(
            "SELECT * FROM employees WHERE cashier_num = ? AND active = 1", (request.cashier_num,)
        )

    async def check_pin(
        self, employee: sqlite3.Row | None, pin: str, *, terminal_id: str, actor: str, purpose: str
    ) -> None:
        """Verify ``pin`` with the lock-out rules; a failure is committed and audited, then raised."""
        scopes = [f"terminal:{terminal_id}"] + (
            [f"employee:{employee['id']}"] if employee is not None else []
        )
        at = self._clock()
        async with self._db.transaction() as tx:
            until = await pins.locked_until(tx, scopes, at)
        if until is not None:
            raise LockedOut(
                "locked_out",
                f"too many wrong PINs; try again after {iso(until)}",
                details={"until": iso(until)},
            )
        ok = employee is not None and await pins.pin_matches(employee["pin_hash"], pin)
        async with self._db.transaction() as tx:
            if ok:
                await pins.clear_failures(tx, scopes)
                return
            failures = await pins.record_failure(tx, scopes, at)
            target = f"employee:{employee['id']}" if employee is not None else "employee:unknown"
            await audit.record(
                tx,
                actor=actor,
                action=f"{purpose}.pin_failed",
                target=target,
                details={"terminal": terminal_id, "failures": failures},
            )
        raise Unauthorized("wrong_pin", "the cashier number or PIN is wrong")

    async def login(self, request: PinLogin, *, device: str) -> SessionView:
        if (request.cardnumber is None) == (request.cashier_num is None or request.pin is None):
            raise Invalid("invalid_login", "log in with cashier_num and pin, or with cardnumber")
        employee = await self._find(request)
        if request.cardnumber is not None:
            if employee is None:
                async with self._db.transaction() as tx:
                    await audit.record(
                        tx,
                        actor=device,
                        action="login.card_unknown",
                        target=None,
                        details={"terminal": request.terminal_id},
                    )
                raise Unauthorized("unknown_card", "this card belongs to nobody")
        else:
            assert request.pin is not None
            await self.check_pin(
                employee, request.pin, terminal_id=request.terminal_id, actor=device, purpose="login"
            )
        assert employee is not None
        granted = await self.permissions_of(employee)
        if request.preview and "settings" not in granted:
            raise DomainError(
                "preview_not_allowed",
                "preview mode is for admins and managers",
                status=403,
                details={"permission": "settings"},
            )
        token = secrets.token_urlsafe(24)
        at = iso(self._clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO staff_sessions (token_hash, employee_id, device, terminal_id, preview, created_at, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_token_hash(token), employee["id"], device, request.terminal_id, request.preview, at, at),
            )
            await tx.execute(
                "INSERT INTO terminals (id, name, created_at, last_seen_at, last_device) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_device = excluded.last_device",
                (request.terminal_id, request.terminal_id, at, at, device),
            )
            method = "card" if request.cardnumber else "pin"
            await audit.record(tx, actor=f"employee:{employee['cashier_num']}:{employee['name']}", action="login",
                               target=f"terminal:{request.terminal_id}", details={"method": method, "preview": request.preview})  # fmt: skip
        occupant = await self._db.fetchone(
            "SELECT e.name FROM shifts s JOIN employees e ON e.id = s.employee_id WHERE s.terminal_id = ? AND s.state = 'open' "
            "AND s.employee_id != ?",
            (request.terminal_id, employee["id"]),
        )
        return SessionView(
            token=token, employee=employee_view(employee), terminal_id=request.terminal_id, preview=request.preview,
            permissions=sorted(frozenset() if request.preview else granted),
            occupied_by=occupant["name"] if occupant else None, created_at=at,
        )  # fmt: skip

    async def session(self, token: str, *, device: str) -> StaffSession:
        """The session behind ``token`` for this device; 401 when unknown, ended or elsewhere."""
        digest = _token_hash(token)
        cached = self._sessions.get(digest)
        if cached is not None and cached.device != device:
            raise Unauthorized(
                "staff_session_invalid", "log in again: the staff session is unknown or has ended"
            )
        if cached is None:
            row = await self._db.fetchone(
                "SELECT s.*, e.cashier_num, e.name, e.role, e.manager, e.training, e.active FROM staff_sessions s "
                "JOIN employees e ON e.id = s.employee_id WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.device = ?",
                (digest, device),
            )
            if row is None or not row["active"]:
                raise Unauthorized(
                    "staff_session_invalid", "log in again: the staff session is unknown or has ended"
                )
            granted = frozenset() if row["preview"] else await self.permissions_of(row)
            cached = StaffSession(
                token_hash=digest, device=device, employee_id=row["employee_id"], cashier_num=row["cashier_num"], name=row["name"],
                role=row["role"], terminal_id=row["terminal_id"], preview=bool(row["preview"]),
                training=bool(row["training"]), permissions=granted,
            )  # fmt: skip
            self._sessions[digest] = cached
        return cached

    async def logout(self, session: StaffSession, *, reason: str = "logout") -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE staff_sessions SET ended_at = ? WHERE token_hash = ?",
                (iso(self._clock()), session.token_hash),
            )
            await audit.record(
                tx, actor=session.actor, action=reason, target=f"terminal:{session.terminal_id}"
            )
        self._sessions.pop(session.token_hash, None)

    async def setup_permissions(self) -> frozenset[str]:
        """What a tablet may do with nobody logged in: the cashier's defaults until staff exist."""
        return frozenset() if await self.has_employees() else CASHIER
