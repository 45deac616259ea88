"""Sales targets (seed 001): goals for the store over a period, tracked daily against sales."""

from hub.domain.targets.service import SalesTargets

__all__ = ["SalesTargets"]
