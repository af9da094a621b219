"""baseline: the schema of onenet 0.1.0

The last release without migrations (schemas/models.py, schemas/aggregates.py and schemas/intake.py
as they were then), written out so that it never changes when the models do.  Generated against an
empty database and reviewed for SQLite and PostgreSQL (the boolean default is sa.true(), which each
engine renders its own way; indexes made with plain CREATE INDEX).

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table('agg_batch_unit',
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint('batch_id', 'code')
    )
    op.create_index(op.f('ix_agg_batch_unit_code'), 'agg_batch_unit', ['code'])

    op.create_table('agg_building_span',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=False),
        sa.Column('street_code', sa.String(length=12), nullable=False),
        sa.Column('day_from', sa.Date(), nullable=False),
        sa.Column('day_to', sa.Date(), nullable=True),
        sa.Column('enterprises', sa.Integer(), nullable=False),
        sa.Column('silent', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_agg_building_span_building_id'), 'agg_building_span', ['building_id'])
    op.create_index('ix_agg_building_span_street', 'agg_building_span', ['street_code', 'day_from'])

    op.create_table('agg_enterprise_span',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('street_code', sa.String(length=12), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=True),
        sa.Column('is_shop', sa.Boolean(), nullable=False),
        sa.Column('day_from', sa.Date(), nullable=False),
        sa.Column('day_to', sa.Date(), nullable=True),
        sa.Column('planned_reopen_date', sa.Date(), nullable=True),
        sa.Column('reopened', sa.Boolean(), nullable=True),
        sa.Column('actual_reopen_date', sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_agg_enterprise_span_enterprise_id'), 'agg_enterprise_span', ['enterprise_id'])
    op.create_index('ix_agg_enterprise_span_street', 'agg_enterprise_span', ['street_code', 'day_from'])

    op.create_table('agg_meta',
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('data_last_day', sa.Date(), nullable=True),
        sa.Column('refreshed_at', sa.DateTime(), nullable=False),
        sa.Column('staff_mark', sa.Integer(), nullable=True),
        sa.Column('batch_mark', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('key')
    )
    op.create_table('agg_quarantine',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('return_date', sa.Date(), nullable=False),
        sa.Column('quarantine_end', sa.Date(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_agg_quarantine_code', 'agg_quarantine', ['code', 'quarantine_end'])

    op.create_table('agg_staff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('origin', sa.Text(), nullable=True),
        sa.Column('return_date', sa.Date(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_agg_staff_code', 'agg_staff', ['code', 'return_date'])

    op.create_table('agg_street_day',
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('enterprises', sa.Integer(), nullable=False),
        sa.Column('reopened', sa.Integer(), nullable=False),
        sa.Column('shops', sa.Integer(), nullable=False),
        sa.Column('shops_open', sa.Integer(), nullable=False),
        sa.Column('staff_total', sa.Integer(), nullable=False),
        sa.Column('staff_returned', sa.Integer(), nullable=False),
        sa.Column('reported', sa.Integer(), nullable=False),
        sa.Column('reported_on_time', sa.Integer(), nullable=False),
        sa.Column('buildings', sa.Integer(), nullable=False),
        sa.Column('buildings_missing', sa.Integer(), nullable=False),
        sa.Column('returning_staff', sa.Integer(), nullable=False),
        sa.Column('in_quarantine', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('code', 'day')
    )
    op.create_index(op.f('ix_agg_street_day_day'), 'agg_street_day', ['day'])

    op.create_table('agg_street_plan',
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('planned', sa.Date(), nullable=False),
        sa.Column('pending', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('code', 'day', 'planned')
    )
    op.create_table('import_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('file_path', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('inserted', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_import_batch_sha256'), 'import_batch', ['sha256'])

    op.create_table('returning_staff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_key', sa.BigInteger(), nullable=False),
        sa.Column('id_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('id_masked', sa.String(length=18), nullable=False),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('enterprise_id', sa.Integer(), nullable=True),
        sa.Column('enterprise_name', sa.Text(), nullable=True),
        sa.Column('uscc', sa.String(length=18), nullable=True),
        sa.Column('building', sa.Text(), nullable=True),
        sa.Column('street_code', sa.String(length=12), nullable=True),
        sa.Column('district_code', sa.String(length=12), nullable=True),
        sa.Column('origin', sa.Text(), nullable=True),
        sa.Column('return_date', sa.Date(), nullable=True),
        sa.Column('quarantine_status', sa.String(length=16), nullable=True),
        sa.Column('quarantine_end', sa.Date(), nullable=True),
        sa.Column('temperature', sa.Float(), nullable=True),
        sa.Column('health', sa.Text(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('sheet', sa.String(length=128), nullable=True),
        sa.Column('row_number', sa.Integer(), nullable=True),
        sa.Column('submission_id', sa.Text(), nullable=True),
        sa.Column('is_current', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('filled_fields', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_returning_staff_person_key'), 'returning_staff', ['person_key'])

    op.create_table('division',
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('parent_code', sa.String(length=12), nullable=True),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
        sa.ForeignKeyConstraint(['parent_code'], ['division.code'], ),
        sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_division_level'), 'division', ['level'])
    op.create_index(op.f('ix_division_parent_code'), 'division', ['parent_code'])

    op.create_table('reject',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('sheet', sa.String(length=128), nullable=True),
        sa.Column('row_number', sa.Integer(), nullable=True),
        sa.Column('field', sa.String(length=64), nullable=True),
        sa.Column('code', sa.String(length=48), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_reject_batch_id'), 'reject', ['batch_id'])

    op.create_table('app_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=64), nullable=True),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('scope_code', sa.String(length=12), nullable=False),
        sa.Column('can_see_personal_data', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['scope_code'], ['division.code'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username')
    )
    op.create_table('boundary',
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('geometry', sa.Text(), nullable=False),
        sa.Column('centroid_lng', sa.Float(), nullable=True),
        sa.Column('centroid_lat', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['code'], ['division.code'], ),
        sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_boundary_level'), 'boundary', ['level'])

    op.create_table('building',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_code', sa.String(length=12), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('name_key', sa.Text(), nullable=False),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('community_code', sa.String(length=12), nullable=True),
        sa.Column('community_name', sa.Text(), nullable=True),
        sa.Column('lng', sa.Float(), nullable=True),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('owner', sa.Text(), nullable=True),
        sa.Column('owner_contact', sa.Text(), nullable=True),
        sa.Column('owner_phone', sa.String(length=32), nullable=True),
        sa.Column('building_type', sa.Text(), nullable=True),
        sa.Column('from_registry', sa.Boolean(), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=True),
        sa.Column('sources', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['street_code'], ['division.code'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_building_street_name', 'building', ['street_code', 'name_key'], unique=True)

    op.create_table('enterprise',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uscc', sa.String(length=18), nullable=True),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('name_key', sa.Text(), nullable=False),
        sa.Column('street_code', sa.String(length=12), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('industry', sa.Text(), nullable=True),
        sa.Column('staff_total', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('from_registry', sa.Boolean(), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=True),
        sa.Column('sources', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['building_id'], ['building.id'], ),
        sa.ForeignKeyConstraint(['street_code'], ['division.code'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uscc')
    )
    op.create_index(op.f('ix_enterprise_building_id'), 'enterprise', ['building_id'])
    op.create_index(op.f('ix_enterprise_street_code'), 'enterprise', ['street_code'])
    op.create_index('ix_enterprise_street_name', 'enterprise', ['street_code', 'name_key'])

    op.create_table('follow_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('set_by', sa.String(length=64), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['building_id'], ['building.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_follow_up_building_id'), 'follow_up', ['building_id'])

    op.create_table('rejected_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=True),
        sa.Column('token', sa.String(length=64), nullable=True),
        sa.Column('submission_id', sa.String(length=64), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('body_masked', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['building_id'], ['building.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_rejected_submission_building_id'), 'rejected_submission', ['building_id'])
    op.create_index(op.f('ix_rejected_submission_received_at'), 'rejected_submission', ['received_at'])

    op.create_table('submission',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('body_sha256', sa.String(length=64), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=True),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('receipt', sa.Text(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
        sa.ForeignKeyConstraint(['building_id'], ['building.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table('reopening_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('sheet', sa.String(length=128), nullable=True),
        sa.Column('row_number', sa.Integer(), nullable=True),
        sa.Column('submission_id', sa.Text(), nullable=True),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('effective_at', sa.DateTime(), nullable=False),
        sa.Column('planned_reopen_date', sa.Date(), nullable=True),
        sa.Column('reopened', sa.Boolean(), nullable=True),
        sa.Column('actual_reopen_date', sa.Date(), nullable=True),
        sa.Column('staff_total', sa.Integer(), nullable=True),
        sa.Column('staff_returned', sa.Integer(), nullable=True),
        sa.Column('staff_quarantined', sa.Integer(), nullable=True),
        sa.Column('contact_name', sa.Text(), nullable=True),
        sa.Column('contact_phone', sa.String(length=32), nullable=True),
        sa.Column('filled_fields', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_reopening_report_batch_id'), 'reopening_report', ['batch_id'])
    op.create_index('ix_report_enterprise_time', 'reopening_report', ['enterprise_id', 'effective_at', 'id'])


def downgrade() -> None:
    op.drop_table('reopening_report')
    op.drop_table('submission')
    op.drop_table('rejected_submission')
    op.drop_table('follow_up')
    op.drop_table('enterprise')
    op.drop_table('building')
    op.drop_table('boundary')
    op.drop_table('app_user')
    op.drop_table('reject')
    op.drop_table('division')
    op.drop_table('returning_staff')
    op.drop_table('import_batch')
    op.drop_table('agg_street_plan')
    op.drop_table('agg_street_day')
    op.drop_table('agg_staff')
    op.drop_table('agg_quarantine')
    op.drop_table('agg_meta')
    op.drop_table('agg_enterprise_span')
    op.drop_table('agg_building_span')
    op.drop_table('agg_batch_unit')
