"""Pending enterprises (待核实, named through a QR code, counted nowhere until confirmed) and per-building
QR token generations (`onenet qr --revoke`).  Existing enterprises are confirmed; existing tokens stay at
generation 0.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("building") as batch:
        batch.add_column(sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("enterprise") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), server_default="confirmed", nullable=False))
        batch.add_column(sa.Column("confirmed_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("confirmed_by")
        batch.drop_column("status")
    with op.batch_alter_table("building") as batch:
        batch.drop_column("token_generation")
