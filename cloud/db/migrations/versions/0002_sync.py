"""sync: events, dead letters, remote jobs, hub ingest position

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:15:23.470635
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dead_letters",
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("hub_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("topic", sa.String(length=400), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index("ix_dead_letters_hub_seq", ["hub_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_events_hub_id_hubs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("hub_id", "seq", name="uq_events_hub_seq"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_tenant_type_occurred", ["tenant_id", "type", "occurred_at"], unique=False
        )

    op.create_table(
        "remote_jobs",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_session", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('test_print', 'open_drawer', 'x_report', 'restart_device', 'diagnostics', 'resync')",
            name=op.f("ck_remote_jobs_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED')",
            name=op.f("ck_remote_jobs_state"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_remote_jobs_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_remote_jobs_hub_id_hubs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_remote_jobs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_jobs")),
    )
    with op.batch_alter_table("remote_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_remote_jobs_hub_state", ["hub_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_remote_jobs_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("hubs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backlog", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("ingested_seq", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("hubs", schema=None) as batch_op:
        batch_op.drop_column("ingested_seq")
        batch_op.drop_column("backlog")

    with op.batch_alter_table("remote_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remote_jobs_tenant_id"))
        batch_op.drop_index("ix_remote_jobs_hub_state")

    op.drop_table("remote_jobs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_tenant_type_occurred")

    op.drop_table("events")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_tenant_id"))
        batch_op.drop_index("ix_dead_letters_hub_seq")

    op.drop_table("dead_letters")
