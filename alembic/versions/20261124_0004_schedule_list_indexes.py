"""indexes for a user's schedule list and active count

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:10:00

bench/api_latency.py at 100,000 schedules: the list sorted every row of the user
for each page (SQLite: a temporary B-tree; PostgreSQL: an external merge sort
on disk), and the per-user limit counted every active row of the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_scheduled_jobs_owner_created', 'scheduled_jobs', ['user_profile_id', 'created_at', 'id'])
    op.create_index('ix_scheduled_jobs_owner_status', 'scheduled_jobs', ['user_profile_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_scheduled_jobs_owner_status', table_name='scheduled_jobs')
    op.drop_index('ix_scheduled_jobs_owner_created', table_name='scheduled_jobs')
