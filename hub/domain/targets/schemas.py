"""Sales targets as the API and the store see them (seed 001, "Sales targets").

Amounts follow :mod:`hub.domain.money`: the amount types (``TOTAL_SALES_AMOUNT``,
``AVG_SALES_AMOUNT``) carry ``int`` minor units; the quantity types (``TOTAL_CUSTOMERS_QTY``,
``PRODUCT_SALES_QTY``, ``DISCOUNT_SALES_QTY``) carry decimal strings ("25", "12.5"). A daily
``target_amount`` is therefore ``int | str`` on the wire and the target's type says which one
is acceptable.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec

TargetType = Literal[
    "TOTAL_SALES_AMOUNT",
    "AVG_SALES_AMOUNT",
    "TOTAL_CUSTOMERS_QTY",
    "PRODUCT_SALES_QTY",
    "DISCOUNT_SALES_QTY",
]
AMOUNT_TYPES: frozenset[str] = frozenset({"TOTAL_SALES_AMOUNT", "AVG_SALES_AMOUNT"})
"""Types whose target and achieved values are amounts in minor units (the rest are quantities)."""

Id = Annotated[int, msgspec.Meta(ge=1)]
IdList = Annotated[list[Id], msgspec.Meta(max_length=1000)]
MultiplierText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}(\.[0-9]{1,4})?$")]
"""A calculation multiplier as a decimal string ("1", "1.5"); it must be greater than 0."""

DayAmount = int | str
"""A daily goal or achieved value: minor units (amount types) or a quantity string."""

MAX_DAYS = 3700


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class TargetScope(_In, kw_only=True):
    """Which sale lines count: ``plu`` product ids, ``dpt`` category ids, ``grp`` parent
    category (group) ids. A line counts when any list names it; all lists empty: every line."""

    plu: IdList = []
    dpt: IdList = []
    grp: IdList = []

    def is_empty(self) -> bool:
        return not (self.plu or self.dpt or self.grp)


class TargetData(_In, kw_only=True):
    """The type-specific part of a target (seed 001 ``data``)."""

    target: TargetScope | None = None
    campaign: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    discount_id: Id | None = None
    multiplier: MultiplierText = "1"


class DayTargetIn(_In, kw_only=True):
    """The goal for one day of the target's period."""

    target_date: date
    target_amount: DayAmount


class SalesTargetIn(_In, kw_only=True):
    """A new target, or the full replacement of one (``PUT``).

    ``location_id`` defaults to this hub's store id and must equal it. ``days``, when given,
    replaces the daily goals; on ``PUT`` leaving it out keeps them (they must still fit).
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    location_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    start_date: date
    end_date: date | None = None
    type: TargetType
    data: TargetData = msgspec.field(default_factory=TargetData)
    days: Annotated[list[DayTargetIn], msgspec.Meta(max_length=MAX_DAYS)] | None = None


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
