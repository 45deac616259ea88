"""report projections of ingested sales, shifts and taxes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _base() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _sale_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["sale_id"], ["report_sales.id"], name=op.f(f"fk_{table}_sale_id_report_sales"), ondelete="CASCADE"
    )


def _money(*names: str, nullable: bool = False) -> list[sa.Column[object]]:
    return [sa.Column(name, sa.BigInteger(), nullable=nullable) for name in names]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "report_sales",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("sale_uuid", sa.String(length=64), nullable=False),
        sa.Column("doc_type", sa.String(length=16), nullable=False),
        sa.Column("number_text", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("seller", sa.String(length=120), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_money("gross", "discounts", "net", "tax", "total"),
        sa.Column("training", sa.Boolean(), nullable=False),
        *_base(),
        _tenant_fk("report_sales"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sales")),
        sa.UniqueConstraint("tenant_id", "sale_uuid", name="uq_report_sales_tenant_sale"),
    )
    op.create_index(
        "ix_report_sales_tenant_date_created", "report_sales", ["tenant_id", "business_date", "created_at"]
    )
    op.create_table(
        "report_sale_lines",
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=15, scale=3), nullable=False),
        *_money("gross", "discount", "net", "total"),
        *_base(),
        _sale_fk("report_sale_lines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sale_lines")),
    )
    op.create_index(op.f("ix_report_sale_lines_sale_id"), "report_sale_lines", ["sale_id"])
    op.create_table(
        "report_sale_taxes",
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("rate", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("inclusive", sa.Boolean(), nullable=False),
        *_money("base", "amount"),
        *_base(),
        _sale_fk("report_sale_taxes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sale_taxes")),
    )
    op.create_index(op.f("ix_report_sale_taxes_sale_id"), "report_sale_taxes", ["sale_id"])
    op.create_table(
        "report_sale_payments",
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.String(length=64), nullable=False),
        sa.Column("tender_type", sa.String(length=32), nullable=False),
        *_money("amount"),
        *_base(),
        _sale_fk("report_sale_payments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sale_payments")),
    )
    op.create_index("ix_report_sale_payments_sale_tender", "report_sale_payments", ["sale_id", "tender_id"])
    op.create_table(
        "report_shifts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("employee", sa.String(length=120), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auto_closed", sa.Boolean(), nullable=False),
        *_money("opening_cash", "cash_sales", "card_sales", "cash_in", "cash_out", "expected_cash"),
        *_money("counted_cash", "difference", nullable=True),
        *_base(),
        _tenant_fk("report_shifts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_shifts")),
        sa.UniqueConstraint("hub_id", "shift_id", name="uq_report_shifts_hub_shift"),
    )
    op.create_index("ix_report_shifts_tenant_date", "report_shifts", ["tenant_id", "business_date"])
    op.create_table(
        "report_daily",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("seller", sa.String(length=120), nullable=False),
        sa.Column("tender", sa.String(length=64), nullable=False),
        *_money("sales_count", "refund_count", "gross", "discounts", "net", "tax", "total"),
        *_money("refund_total", "tender_amount"),
        *_base(),
        _tenant_fk("report_daily"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_daily")),
        sa.UniqueConstraint(
            "tenant_id", "business_date", "store_id", "seller", "tender", name="uq_report_daily_key"
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("report_daily")
    op.drop_index("ix_report_shifts_tenant_date", table_name="report_shifts")
    op.drop_table("report_shifts")
    op.drop_index("ix_report_sale_payments_sale_tender", table_name="report_sale_payments")
    op.drop_table("report_sale_payments")
    op.drop_index(op.f("ix_report_sale_taxes_sale_id"), table_name="report_sale_taxes")
    op.drop_table("report_sale_taxes")
    op.drop_index(op.f("ix_report_sale_lines_sale_id"), table_name="report_sale_lines")
    op.drop_table("report_sale_lines")
    op.drop_index("ix_report_sales_tenant_date_created", table_name="report_sales")
    op.drop_table("report_sales")
