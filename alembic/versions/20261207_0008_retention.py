"""retention: how long a schedule's runs are kept, the totals of swept rows, and indexes the sweep reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:30:00

The leading scheduler deletes ledger rows (with their workflow and node runs) older than
the schedule's ``run_retention_days`` (else RQFLOW_RUN_RETENTION_DAYS), and audit rows older
than RQFLOW_AUDIT_RETENTION_DAYS, oldest first, a small batch per transaction. What it deletes
is counted into ``ledger_totals`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ledger_totals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('trigger_kind', sa.String(length=20), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_totals')),
        sa.UniqueConstraint('status', 'trigger_kind', name=op.f('uq_ledger_totals_status_trigger_kind')),
    )
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_retention_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_runs_created_at', ['created_at'])
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.create_index('ix_workflow_runs_started_at', ['started_at'])
    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_changes_created_at', ['created_at'])


def downgrade() -> None:
    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_changes_created_at')
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_runs_started_at')
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_runs_created_at')
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.drop_column('run_retention_days')
    op.drop_table('ledger_totals')
