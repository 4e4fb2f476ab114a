"""user daily spend: what each user's runs spent on model calls per UTC day, for the per-user daily budget

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'user_daily_spend',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_profile_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('cost_usd', sa.Float(), nullable=False),
        sa.Column('tokens', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['user_profile_id'], ['user_profiles.id'],
                                name=op.f('fk_user_daily_spend_user_profile_id_user_profiles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_daily_spend')),
        sa.UniqueConstraint('user_profile_id', 'day', name=op.f('uq_user_daily_spend_user_profile_id_day')),
    )


def downgrade() -> None:
    op.drop_table('user_daily_spend')
