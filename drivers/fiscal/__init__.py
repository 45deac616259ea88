"""Fiscal printer drivers: Datecs X (and the base class the others share)."""
