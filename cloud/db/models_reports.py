"""Cloud tables: report projections of ingested facts."""

from __future__ import annotations
