"""scheduling semantics: catch-up, overlap, jitter, pause details, audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:24:26.543081
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('schedule_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheduled_job_id', sa.String(length=36), nullable=False),
    sa.Column('user_profile_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_profile_id'], ['user_profiles.id'], name=op.f('fk_schedule_changes_user_profile_id_user_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_changes'))
    )
    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_changes_scheduled_job_id_id', ['scheduled_job_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedule_changes_user_profile_id'), ['user_profile_id'], unique=False)

    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_runs_scheduled_job_id_status', ['scheduled_job_id', 'status'], unique=False)
        batch_op.create_index('ix_schedule_runs_status_started_at', ['status', 'started_at'], unique=False)

    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catchup_policy', sa.String(length=20), server_default='latest', nullable=False))
        batch_op.add_column(sa.Column('catchup_window_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overlap_policy', sa.String(length=20), server_default='skip', nullable=False))
        batch_op.add_column(sa.Column('jitter_seconds', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('pause_after_failures', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('missed_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('paused_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_scheduled_jobs_status_paused_until', ['status', 'paused_until'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_jobs_status_paused_until')
        batch_op.drop_column('paused_until')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('paused_reason')
        batch_op.drop_column('missed_count')
        batch_op.drop_column('consecutive_failures')
        batch_op.drop_column('pause_after_failures')
        batch_op.drop_column('jitter_seconds')
        batch_op.drop_column('overlap_policy')
        batch_op.drop_column('catchup_window_seconds')
        batch_op.drop_column('catchup_policy')

    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_runs_status_started_at')
        batch_op.drop_index('ix_schedule_runs_scheduled_job_id_status')

    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_changes_user_profile_id'))
        batch_op.drop_index('ix_schedule_changes_scheduled_job_id_id')

    op.drop_table('schedule_changes')
