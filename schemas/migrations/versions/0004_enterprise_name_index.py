"""An index on enterprise.name_key: a file's rows look up only the enterprises of their own names
(etl.store.enterprise_registry), whatever street the name is in.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_enterprise_name_key", "enterprise", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_enterprise_name_key", table_name="enterprise")
