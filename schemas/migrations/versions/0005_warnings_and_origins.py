"""Warnings beside rejects, and origins by division code.

- ``reject.severity``: ``error`` (the row was not loaded) or ``warning`` (an optional value was blanked,
  the row loaded); ``import_batch.warnings`` counts a file's warnings beside its rejected rows.
- ``returning_staff.origin_code``: the 6-digit division code (prefecture, else province) the free-text
  origin names; the text itself is kept in ``origin``.  The people already stored keep it empty and
  are placed by their text when read (etl.origins); every unit's aggregates are marked stale so that
  the 按来源地 chart is rebuilt by place.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reject") as batch:
        batch.add_column(sa.Column("severity", sa.String(8), server_default="error", nullable=False))
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("warnings", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("returning_staff") as batch:
        batch.add_column(sa.Column("origin_code", sa.String(6), nullable=True))
    _rebuild_origin_groups()


def _rebuild_origin_groups() -> None:
    """The people already stored keep origin_code empty (the readers match their text, etl.origins: a
    schema migration does not import the ETL); every unit's aggregates are marked stale so that the
    按来源地 groups are rebuilt by place."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM returning_staff WHERE origin IS NOT NULL LIMIT 1")).first() is None:
        return
    stale = sa.table("agg_stale", sa.column("code", sa.String(12)), sa.column("staff", sa.Boolean()))
    bind.execute(sa.delete(stale).where(stale.c.code == "*"))
    bind.execute(sa.insert(stale).values(code="*", staff=True))


def downgrade() -> None:
    with op.batch_alter_table("returning_staff") as batch:
        batch.drop_column("origin_code")
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("warnings")
    with op.batch_alter_table("reject") as batch:
        batch.drop_column("severity")
