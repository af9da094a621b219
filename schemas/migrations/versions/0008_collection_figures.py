"""A collection's figures per building and day (collection_figure), its field totals per street and day
(collection_field_totals) and what is stale in them (collection_stale).

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_figure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("collection.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
    )
    op.create_index("ix_collection_figure", "collection_figure", ["collection_id", "day", "street_code"])
    op.create_table(
        "collection_field_totals",
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("collection.id"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("street_code", sa.String(12), primary_key=True),
        sa.Column("fields", sa.Text(), nullable=False),
    )
    op.create_table(
        "collection_stale",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collection_id", sa.Integer(), nullable=True),
        sa.Column("street_code", sa.String(12), nullable=False),
    )
    # The collections a release before this one made are counted live until the next load or `onenet serve`
    # builds their figures.
    op.execute("INSERT INTO collection_stale (collection_id, street_code) "
               "SELECT id, '*' FROM collection WHERE status <> 'draft'")


def downgrade() -> None:
    op.drop_table("collection_stale")
    op.drop_table("collection_field_totals")
    op.drop_table("collection_figure")
