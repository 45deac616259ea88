"""Cloud tables: authored configuration: items with revisions per tenant and store overrides."""

from __future__ import annotations
