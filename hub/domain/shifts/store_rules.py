"""The shift rules the cloud sets per store (``store_options.shift_rules``), applied on the hub.

* ``auto_close_at``: the time of day (store time) a shift still open is closed with the
  expected amounts as the count; ``None`` turns the automatic close off. A shift opened after
  that time on its day is closed at that time the next day, not the moment it opens.
* ``blind_close``: whoever lacks the manager's ``z_report`` permission sees no expected amounts
  (nor the counted ones and the difference, which would give the expected away); they count
  blind. Managers and the technician's admin credential see everything.
* ``max_difference``: a cash count further than this from the expected amount needs a manager
  to close the shift (0 turns the check off). The refusal does not name the difference when
  the store closes blind.
* ``require_open_shift``: with staff set up, selling needs an open shift (off: sales made
  without one are booked to no shift).

A store the cloud does not manage has the defaults, which are the hub's own behaviour.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from hub.domain.errors import DomainError
from hub.domain.shifts import clock_rules
from hub.domain.shifts.figures import ShiftFigures
from hub.domain.shifts.schemas import ShiftView
from hub.domain.staff.service import StaffSession
from protocols.sync.config import ShiftRules

MANAGER_PERMISSION = "z_report"


def _is_manager(staff: StaffSession | None) -> bool:
    return staff is None or MANAGER_PERMISSION in staff.permissions


def auto_close_moment(rules: ShiftRules, opened_at: datetime, timezone: str) -> datetime | None:
    """When a shift opened at ``opened_at`` is closed automatically; None when never."""
    if rules.auto_close_at is None:
        return None
    hours, minutes = (int(part) for part in rules.auto_close_at.split(":"))
    day = clock_rules.business_date(opened_at, timezone)
    moment = datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(timezone))
    return moment if moment > opened_at else moment + timedelta(days=1)


def blinded(view: ShiftView, staff: StaffSession | None, rules: ShiftRules) -> ShiftView:
    """``view`` as ``staff`` may see it under the store's blind-close rule."""
    if not rules.blind_close or _is_manager(staff):
        return view
    return msgspec.structs.replace(view, figures=None, blind=True)


def limits_difference(staff: StaffSession | None, rules: ShiftRules) -> bool:
    """Whether ``staff``'s count must be checked against ``max_difference`` (the expected
    amounts are only worked out when it must)."""
    return bool(rules.max_difference) and not _is_manager(staff)


def check_difference(
    figures: ShiftFigures, counted_cash: int, staff: StaffSession | None, rules: ShiftRules
) -> None:
    """Refuse a count beyond ``max_difference`` unless a manager closes; see the module docstring."""
    if not limits_difference(staff, rules):
        return
    difference = counted_cash - figures.expected_cash
    if abs(difference) <= rules.max_difference:
        return
    details: dict[str, int] = {"max_difference": rules.max_difference}
    if not rules.blind_close:
        details["difference"] = difference
    raise DomainError(
        "difference_needs_manager",
        "the counted cash is further from the expected amount than the store allows: count again or "
        "ask a manager to close the shift",
        status=403,
        details=details,
    )
