"""workflow self-scheduling: whether a workflow's own runs may create schedules that start it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:00:00

A schedule_create tool call made inside a workflow could create a schedule that starts that
same workflow, so every run added one more schedule, up to the user's cap. Such a call is now
refused unless the workflow says it may schedule itself; existing workflows may not.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('may_schedule_itself', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_column('may_schedule_itself')
