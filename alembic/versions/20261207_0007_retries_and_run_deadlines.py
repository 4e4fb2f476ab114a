"""retries and run deadlines: node attempts, runs that wait for their next attempt, a deadline per run

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:00:00

A node (or its workflow, for every node) may carry a retry policy; each attempt is a node run
of its own (``attempt``). A run whose next attempt waits is ``retrying``: the workflow run keeps
the node to resume at, the attempt number, when, and the outputs it resumes with; the ledger row
keeps when the next attempt is due. A schedule may bound a run's whole life
(``run_timeout_seconds``); the ledger row records the deadline it got when it started, and when
a worker last took it up again (``resumed_at``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry', sa.JSON(), nullable=True))
    with op.batch_alter_table('workflow_nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry', sa.JSON(), nullable=True))
    with op.batch_alter_table('node_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resume_node_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('resume_attempt', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resume_outputs', sa.JSON(), nullable=True))
        batch_op.create_index('ix_workflow_runs_status_next_attempt_at', ['status', 'next_attempt_at'])
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resumed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deadline_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_timeout_seconds', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.drop_column('run_timeout_seconds')
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.drop_column('deadline_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('resumed_at')
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_runs_status_next_attempt_at')
        batch_op.drop_column('resume_outputs')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('resume_attempt')
        batch_op.drop_column('resume_node_key')
    with op.batch_alter_table('node_runs', schema=None) as batch_op:
        batch_op.drop_column('attempt')
    with op.batch_alter_table('workflow_nodes', schema=None) as batch_op:
        batch_op.drop_column('retry')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_column('retry')
