"""Collections (信息收集): collection, collection_version, collection_answer, street_webhook.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("scope_code", sa.String(12), sa.ForeignKey("division.code"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("template", sa.LargeBinary(), nullable=True),
        sa.Column("template_name", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_collection_scope_code", "collection", ["scope_code"])
    op.create_table(
        "collection_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("collection.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_collection_version", "collection_version", ["collection_id", "version"], unique=True)
    op.create_table(
        "collection_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("collection.id"), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprise.id"), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("effective_at", sa.DateTime(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("submission_id", sa.String(64), nullable=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("import_batch.id"), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
    )
    op.create_index("ix_answer_latest", "collection_answer",
                    ["collection_id", "period", "enterprise_id", "effective_at", "id"])
    op.create_index("ix_answer_submission", "collection_answer", ["collection_id", "submission_id"], unique=True)
    op.create_index("ix_collection_answer_enterprise_id", "collection_answer", ["enterprise_id"])
    op.create_table(
        "street_webhook",
        sa.Column("street_code", sa.String(12), sa.ForeignKey("division.code"), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("street_webhook")
    op.drop_table("collection_answer")
    op.drop_table("collection_version")
    op.drop_table("collection")
