"""tokens and cost: what each node run, workflow run and ledger row spent on model calls; budgets per schedule

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:00:00

The agent node records every model call's usage; the operator's price table
(RQFLOW_LLM_PRICES) turns it into cost. Each node run (attempt), workflow run and ledger row
carries ``total_tokens`` and ``total_cost_usd``. A schedule may cap a run's spending
(``max_budget_per_run_usd``, ``max_tokens_per_run``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPENDING = ('node_runs', 'workflow_runs', 'schedule_runs')


def upgrade() -> None:
    for table in SPENDING:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('total_tokens', sa.BigInteger(), nullable=False, server_default='0'))
            batch_op.add_column(sa.Column('total_cost_usd', sa.Float(), nullable=False, server_default='0'))
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_budget_per_run_usd', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('max_tokens_per_run', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.drop_column('max_tokens_per_run')
        batch_op.drop_column('max_budget_per_run_usd')
    for table in reversed(SPENDING):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('total_cost_usd')
            batch_op.drop_column('total_tokens')
