"""workflow edge kinds (flow, tool) and per-node timeouts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 05:47:38.832585
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('workflow_edges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='flow', nullable=False))
    with op.batch_alter_table('workflow_nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timeout_seconds', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('workflow_nodes', schema=None) as batch_op:
        batch_op.drop_column('timeout_seconds')
    with op.batch_alter_table('workflow_edges', schema=None) as batch_op:
        batch_op.drop_column('kind')

