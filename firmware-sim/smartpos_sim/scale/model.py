"""The simulated scale itself: the load on the platform, the zero and tare it keeps, its flags.

Weights are integer milligrams throughout. What the scale shows is the net weight::

    gross = load - zero_offset        (zero_offset: the load when zero was last set)
    net   = gross - tare              (tare: the gross weight taken as tare)

and it shows it to one display division (one unit of the last decimal place), rounded
half-even, in its display unit.

Conditions, as a retail scale has them:

* over capacity when the gross weight passes the capacity, or when forced on;
* under load when the gross weight is below zero by more than the zero range, or when
  forced on (a platform lifted off, a load cell fault);
* in motion only when forced on (the control port plays the customer putting goods down).

Zero is accepted only while the scale is still and the load is within the zero range around
the power-up zero: +-2 % of capacity (OIML R 76-1 allows 4 % of Max in all for the zero
setting devices). Setting zero clears the tare. Tare is accepted only while the scale is still,
not over capacity and not below zero; taring an empty platform clears the tare.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from protocols.scales.common import from_milligrams

Refusal = Literal["motion", "above", "below"]
Flag = Literal["motion", "overload", "underload"]
ZERO_RANGE_PERCENT = 2
DEFAULT_DECIMALS = {"kg": 3, "lb": 2, "g": 0}


class Scale:
    """One scale's state; listeners registered with :meth:`on_change` hear every change."""

    def __init__(self, *, capacity_mg: int, unit: str = "kg", decimals: int | None = None) -> None:
        if capacity_mg <= 0:
            raise ValueError("capacity must be positive")
        self.capacity_mg = capacity_mg
        self.unit = unit
        self.decimals = DEFAULT_DECIMALS[unit] if decimals is None else decimals
        self.load_mg = 0
        self.zero_offset_mg = 0
        self.tare_mg = 0
        self.motion = False
        self.forced_overload = False
        self.forced_underload = False
        self._listeners: list[Callable[[], None]] = []

    # -- what the scale shows -------------------------------------------------------------
    @property
    def zero_range_mg(self) -> int:
        return self.capacity_mg * ZERO_RANGE_PERCENT // 100

    @property
    def gross_mg(self) -> int:
        return self.load_mg - self.zero_offset_mg

    @property
    def net_mg(self) -> int:
        return self.gross_mg - self.tare_mg

    @property
    def overload(self) -> bool:
        return self.forced_overload or self.gross_mg > self.capacity_mg

    @property
    def underload(self) -> bool:
        return self.forced_underload or self.gross_mg < -self.zero_range_mg

    @property
    def outside_zero_range(self) -> bool:
        """Whether a zero key press would be refused for the load (not for motion)."""
        return abs(self.load_mg) > self.zero_range_mg

    def displayed(self, milligrams: int | None = None) -> Decimal:
        """``milligrams`` (the net weight by default) as the display shows it, in its unit."""
        return from_milligrams(self.net_mg if milligrams is None else milligrams, self.unit, self.decimals)

    @property
    def at_zero(self) -> bool:
        """Whether the display shows zero (the centre-of-zero lamp)."""
        return self.displayed() == 0

    # -- what happens to it ---------------------------------------------------------------
    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def set_load(self, milligrams: int) -> None:
        if milligrams != self.load_mg:
            self.load_mg = milligrams
            self._changed()

    def set_flag(self, flag: Flag, on: bool) -> None:
        attribute = {"motion": "motion", "overload": "forced_overload", "underload": "forced_underload"}[flag]
        if getattr(self, attribute) != on:
            setattr(self, attribute, on)
            self._changed()

    def zero(self) -> Refusal | None:
        """Press zero: None when done, else why it was refused."""
        if self.motion:
            return "motion"
        if self.load_mg > self.zero_range_mg:
            return "above"
        if self.load_mg < -self.zero_range_mg:
            return "below"
        self.zero_offset_mg, self.tare_mg = self.load_mg, 0
        self._changed()
        return None

    def tare(self) -> Refusal | None:
        """Press tare: None when done (the gross weight becomes the tare), else why not."""
        if self.motion:
            return "motion"
        if self.overload:
            return "above"
        if self.underload or self.gross_mg < 0:
            return "below"
        self.tare_mg = self.gross_mg
        self._changed()
        return None

    def clear_tare(self) -> None:
        if self.tare_mg:
            self.tare_mg = 0
            self._changed()

    def snapshot(self) -> dict[str, Any]:
        """The state as the control port's ``status`` reports it (milligrams, exact)."""
        return {
            "unit": self.unit,
            "decimals": self.decimals,
            "capacity_mg": self.capacity_mg,
            "load_mg": self.load_mg,
            "zero_offset_mg": self.zero_offset_mg,
            "tare_mg": self.tare_mg,
            "gross_mg": self.gross_mg,
            "net_mg": self.net_mg,
            "displayed": str(self.displayed()),
            "motion": self.motion,
            "overload": self.overload,
            "underload": self.underload,
        }
