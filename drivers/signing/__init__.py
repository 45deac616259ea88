"""Fiscal signing adapters: services that sign a receipt instead of a fiscal printer printing it."""
