"""Cash that moves without a sale: cash in and out, handovers, courier COD, commission sales.

Each movement belongs to the open shift of the terminal and changes its expected cash (see
:mod:`figures`). A handover needs the receiver's own PIN: a wrong PIN moves nothing, counts
towards the receiver's lock-out and is audited.
"""

from __future__ import annotations

import msgspec

from hub.domain import audit, outbox
from hub.domain.clock import iso
from hub.domain.errors import Conflict, DomainError, NotFound
from hub.domain.shifts.figures import shift_figures
from hub.domain.shifts.schemas import CashMovementIn, CommissionIn, HandoverIn, PostalIn, ShiftView
from hub.domain.shifts.service import ShiftService
from hub.domain.staff.service import StaffService, StaffSession


class CashDesk:
    """Records cash movements on a terminal's open shift."""

    def __init__(self, shifts: ShiftService, staff: StaffService) -> None:
        self._shifts = shifts
        self._staff = staff

    async def _record(
        self, session: StaffSession, kind: str, amount: int, reason: str, *, tender_type: str = "cash",
        receiver_id: int | None = None, details: dict[str, object] | None = None,
    ) -> ShiftView:  # fmt: skip
        shift = await self._shifts.require_open(session.terminal_id, session)
        db = self._shifts.db
        async with db.transaction() as tx:
            if kind in ("cash_out", "handover"):
                # Never take out more than the drawer should hold.
                figures = await shift_figures(tx, shift["id"], shift["opening_cash"])
                if amount > figures.expected_cash:
                    raise Conflict("not_enough_cash", f"the drawer should hold {figures.expected_cash}, not {amount}",
                                   details={"expected_cash": figures.expected_cash})  # fmt: skip
            at = iso(self._shifts.clock())
            row = await tx.fetchone(
                "INSERT INTO cash_movements (shift_id, kind, amount, tender_type, reason, receiver_id, details, actor, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (shift["id"], kind, amount, tender_type, reason, receiver_id,
                 None if details is None else msgspec.json.encode(details).decode(), session.actor, at),
            )  # fmt: skip
            assert row is not None
            fact = {"shift_id": shift["id"], "movement_id": row["id"], "kind": kind, "amount": amount,
                    "tender_type": tender_type, "reason": reason, "receiver_id": receiver_id, "at": at}  # fmt: skip
            await audit.record(
                tx, actor=session.actor, action=f"cash.{kind}", target=f"shift:{shift['id']}", details=fact
            )
            await outbox.append(tx, "cash.moved", fact)
        return await self._shifts.view(int(shift["id"]))

    async def move(self, session: StaffSession, body: CashMovementIn) -> ShiftView:
        return await self._record(session, body.kind, body.amount, body.reason)

    async def postal(self, session: StaffSession, body: PostalIn) -> ShiftView:
        reason = f"{body.packages} package(s) from {body.courier}"
        return await self._record(session, "postal_cod", body.cod_amount, reason,
                                  details={"packages": body.packages, "courier": body.courier})  # fmt: skip

    async def commission(self, session: StaffSession, body: CommissionIn) -> ShiftView:
        return await self._record(session, "commission", body.amount, f"commission sale for {body.goods_owner}",
                                  tender_type=body.tender_type,
                                  details={"goods_owner": body.goods_owner, "notes": body.notes})  # fmt: skip

    async def handover(self, session: StaffSession, body: HandoverIn) -> ShiftView:
        receiver = await self._shifts.db.fetchone(
            "SELECT * FROM employees WHERE id = ? AND active = 1", (body.receiver_id,)
        )
        if receiver is None:
            raise NotFound("employee_not_found", f"no employee {body.receiver_id}")
        await self._shifts.require_open(session.terminal_id, session)
        await self._staff.check_pin(receiver, body.receiver_pin, terminal_id=session.terminal_id, actor=session.actor,
                                    purpose="handover")  # fmt: skip
        if "handover_receive" not in await self._staff.permissions_of(receiver):
            raise DomainError("receiver_not_allowed", f"{receiver['name']} cannot receive cash handovers", status=403,
                              details={"permission": "handover_receive"})  # fmt: skip
        reason = body.note or f"handover to {receiver['name']}"
        return await self._record(session, "handover", body.amount, reason, receiver_id=int(receiver["id"]))
