"""token lifecycle: expiry and revocation of API tokens, server-side dashboard sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:50:00

API tokens never expired and could not be revoked, and the dashboard's cookie held the raw
API token. Tokens now have an optional expiry and a revocation instant; the dashboard keeps
a session of its own (a random id, stored as a digest, with an expiry), tied to the token
that signed in, so revoking the token ends the session too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
    op.create_table(
        'ui_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_digest', sa.String(length=64), nullable=False),
        sa.Column('api_token_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['api_token_id'], ['api_tokens.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_digest'),
    )
    op.create_index('ix_ui_sessions_api_token_id', 'ui_sessions', ['api_token_id'])


def downgrade() -> None:
    op.drop_index('ix_ui_sessions_api_token_id', table_name='ui_sessions')
    op.drop_table('ui_sessions')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
