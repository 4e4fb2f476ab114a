"""notifications: a schedule's notify entries, each delivery and each try, and the user's webhook secret

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scheduled_jobs') as batch:
        batch.add_column(sa.Column('notify', sa.JSON(), nullable=True))
    with op.batch_alter_table('user_profiles') as batch:
        batch.add_column(sa.Column('webhook_secret', sa.String(length=64), nullable=True))
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scheduled_job_id', sa.String(length=36), nullable=False),
        sa.Column('schedule_run_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('target', sa.String(length=2000), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['scheduled_job_id'], ['scheduled_jobs.id'],
                                name=op.f('fk_notification_deliveries_scheduled_job_id_scheduled_jobs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    )
    op.create_index('ix_notification_deliveries_status_next_attempt_at', 'notification_deliveries',
                    ['status', 'next_attempt_at'])
    op.create_index('ix_notification_deliveries_schedule_created', 'notification_deliveries',
                    ['scheduled_job_id', 'created_at', 'id'])
    op.create_index('ix_notification_deliveries_created_at', 'notification_deliveries', ['created_at'])
    op.create_table(
        'notification_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('duration_ms', sa.Float(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['notification_deliveries.id'],
                                name=op.f('fk_notification_attempts_delivery_id_notification_deliveries'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempts')),
    )
    op.create_index(op.f('ix_notification_attempts_delivery_id'), 'notification_attempts', ['delivery_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_notification_attempts_delivery_id'), table_name='notification_attempts')
    op.drop_table('notification_attempts')
    op.drop_index('ix_notification_deliveries_created_at', table_name='notification_deliveries')
    op.drop_index('ix_notification_deliveries_schedule_created', table_name='notification_deliveries')
    op.drop_index('ix_notification_deliveries_status_next_attempt_at', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    with op.batch_alter_table('user_profiles') as batch:
        batch.drop_column('webhook_secret')
    with op.batch_alter_table('scheduled_jobs') as batch:
        batch.drop_column('notify')
