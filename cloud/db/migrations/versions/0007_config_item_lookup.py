"""index config items by tenant, section and key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:00:00

A hub's delta (``GET /api/v1/hub/config?since=V``) reads both rows of every ``(section, key)``
that changed: the tenant item and the store's override. The unique key puts ``scope`` before
``section`` and ``key``, so that lookup could not use it and PostgreSQL scanned the tenant's
items once per changed item: 4.3 s for a 5,000-product import, every hub of the store waiting.
With this index it takes about 25 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_config_items_tenant_section_key", "config_items", ["tenant_id", "section", "key"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_config_items_tenant_section_key", table_name="config_items")
