"""Loads that read and rebuild only what they need: an index on enterprise.name_key (a file's rows look up
only the enterprises of their own names, whatever street the name is in, etl.store.enterprise_registry),
and a stale unit says whether its returning-staff figures changed too (etl.aggregate).  Units already
stale are rebuilt whole.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_enterprise_name_key", "enterprise", ["name_key"])
    with op.batch_alter_table("agg_stale") as batch:
        batch.add_column(sa.Column("staff", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("agg_stale") as batch:
        batch.drop_column("staff")
    op.drop_index("ix_enterprise_name_key", table_name="enterprise")
