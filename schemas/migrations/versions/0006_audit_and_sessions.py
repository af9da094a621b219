"""Who did what: the audit log, login attempts (to refuse password guessing), and a session version per
user so that logout, a password change or disabling ends every session of that user at once.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("scope_code", sa.String(12), nullable=True),
        sa.Column("day", sa.String(10), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("personal", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    for column in ("at", "actor", "action", "scope_code"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
    )
    for column in ("at", "username", "address"):
        op.create_index(f"ix_login_attempt_{column}", "login_attempt", [column])
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_version")
        batch.drop_column("created_by")
    op.drop_table("login_attempt")
    op.drop_table("audit_log")
