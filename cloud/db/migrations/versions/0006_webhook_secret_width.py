"""widen webhook_endpoints.secret for sealed secrets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:00:00

A sealed signing secret (``v1:<nonce>:<ciphertext>``, AES-256-GCM) is 108 characters, more
than the 100 the column had. PostgreSQL enforces ``VARCHAR(n)``, so the column is widened
there; SQLite ignores declared lengths, and changing one would rebuild the table (whose drop
would cascade to the delivery log), so nothing is done on SQLite. The existing plain secrets
are sealed by the cloud itself (the delivery worker, at start), which holds the key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "webhook_endpoints",
        "secret",
        existing_type=sa.String(length=old),
        type_=sa.String(length=new),
        existing_nullable=False,
    )


def upgrade() -> None:
    """Apply this revision."""
    _resize(100, 255)


def downgrade() -> None:
    """Revert this revision (PostgreSQL refuses it while sealed secrets, over 100, are stored)."""
    _resize(255, 100)
