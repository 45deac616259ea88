"""The store's clock: business dates, work hours, late starts and early closes.

Everything is decided in the store's time zone (store settings), because "late" and "midnight"
are local notions; timestamps are still stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def business_date(moment: datetime, timezone: str) -> date:
    return local(moment, timezone).date()


def _at(day: date, hhmm: str, timezone: str) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(timezone))


def minutes_late(moment: datetime, timezone: str, work_start: str, threshold_min: int) -> int:
    """Minutes after the work start (0 within the threshold: a few minutes are not late)."""
    start = _at(business_date(moment, timezone), work_start, timezone)
    late = int((moment - start).total_seconds() // 60)
    return late if late > threshold_min else 0


def minutes_early(moment: datetime, timezone: str, work_end: str, threshold_min: int) -> int:
    """Minutes before the work end (0 within the threshold)."""
    end = _at(business_date(moment, timezone), work_end, timezone)
    early = int((end - moment).total_seconds() // 60)
    return early if early > threshold_min else 0


def period_key(moment: datetime, timezone: str, frequency: str) -> str:
    """The checklist period a moment belongs to: the date, the ISO week or the month."""
    day = business_date(moment, timezone)
    if frequency == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if frequency == "monthly":
        return day.strftime("%Y-%m")
    return day.isoformat()


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone))
    return start, start + timedelta(days=1)
