"""Sales targets as the API and the store see them (seed 001, "Sales targets").

Amounts follow :mod:`hub.domain.money`: the amount types (``TOTAL_SALES_AMOUNT``,
``AVG_SALES_AMOUNT``) carry ``int`` minor units; the quantity types (``TOTAL_CUSTOMERS_QTY``,
``PRODUCT_SALES_QTY``, ``DISCOUNT_SALES_QTY``) carry decimal strings ("25", "12.5"). A daily
``target_amount`` is therefore ``int | str`` on the wire and the target's type says which one
is acceptable.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocols.sync.pos_entities import (
    AMOUNT_TYPES,
    MAX_DAYS,
    DayAmount,
    DayTargetIn,
    Id,
    IdList,
    MultiplierText,
    SalesTargetIn,
    TargetData,
    TargetScope,
    TargetType,
)

__all__ = [
    "AMOUNT_TYPES",
    "MAX_DAYS",
    "DayAmount",
    "DayTargetIn",
    "Id",
    "IdList",
    "MultiplierText",
    "SalesTargetIn",
    "TargetData",
    "TargetScope",
    "TargetType",
]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class DaysIn(_In, kw_only=True):
    """``PUT .../days``: the complete set of daily goals (days left out have none)."""

    days: Annotated[list[DayTargetIn], msgspec.Meta(max_length=MAX_DAYS)]


class DayView(msgspec.Struct, frozen=True, kw_only=True):
    """One day: the goal (``None`` when none is set), what was achieved, and the percentage
    of the goal reached ("87.5"; ``None`` without a positive goal)."""

    target_date: str
    target_amount: DayAmount | None
    total_amount: DayAmount
    percent: str | None


class SalesTargetSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A target without its days (the list)."""

    id: int
    name: str
    location_id: str
    start_date: str
    end_date: str | None
    type: TargetType
    data: TargetData
    days_count: int
    created_at: str
    updated_at: str


class SalesTargetView(msgspec.Struct, frozen=True, kw_only=True):
    """A target with every day that has a goal and its achieved amount."""

    id: int
    name: str
    location_id: str
    start_date: str
    end_date: str | None
    type: TargetType
    data: TargetData
    days: list[DayView]
    created_at: str
    updated_at: str


class TargetProgress(msgspec.Struct, frozen=True, kw_only=True):
    """One target over the progress window: every day of the window inside its period."""

    id: int
    name: str
    type: TargetType
    data: TargetData
    start_date: str
    end_date: str | None
    days: list[DayView]


class ProgressView(msgspec.Struct, frozen=True, kw_only=True):
    """What the POS shows: the store's targets for ``date`` +- 7 days (``from_date`` .. ``to_date``)."""

    date: str
    from_date: str
    to_date: str
    location_id: str
    timezone: str
    targets: list[TargetProgress]
