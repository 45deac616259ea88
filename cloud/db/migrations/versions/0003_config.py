"""config authoring: items with revisions, per-store overrides, config push state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "config_items",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=True),
        sa.Column("scope", sa.String(length=36), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_config_items_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_config_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_items")),
        sa.UniqueConstraint("tenant_id", "scope", "section", "key", name="uq_config_items_item"),
    )
    with op.batch_alter_table("config_items", schema=None) as batch_op:
        batch_op.create_index("ix_config_items_tenant_revision", ["tenant_id", "revision"], unique=False)
        batch_op.create_index(
            "ix_config_items_tenant_scope_revision", ["tenant_id", "scope", "revision"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_config_items_store_id"), ["store_id"], unique=False)

    op.create_table(
        "config_counters",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("next_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_config_counters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_counters")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_config_counters_tenant_id")),
    )

    with op.batch_alter_table("hubs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rejected_config_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("config_error", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("hubs", schema=None) as batch_op:
        batch_op.drop_column("config_error")
        batch_op.drop_column("rejected_config_version")

    op.drop_table("config_counters")
    with op.batch_alter_table("config_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_config_items_store_id"))
        batch_op.drop_index("ix_config_items_tenant_scope_revision")
        batch_op.drop_index("ix_config_items_tenant_revision")

    op.drop_table("config_items")
