"""Aggregates rebuilt by stale units: agg_stale replaces the marks of the incremental staff deltas.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("agg_stale",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    # Aggregates made by an earlier release are rebuilt once, whole, by the next load or `onenet serve`.
    op.execute("INSERT INTO agg_stale (code) SELECT '*' WHERE EXISTS (SELECT 1 FROM agg_meta)")
    with op.batch_alter_table("agg_meta") as batch:
        batch.drop_column("staff_mark")
        batch.drop_column("batch_mark")


def downgrade() -> None:
    with op.batch_alter_table("agg_meta") as batch:
        batch.add_column(sa.Column("batch_mark", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("staff_mark", sa.Integer(), nullable=True))
    op.drop_table("agg_stale")
