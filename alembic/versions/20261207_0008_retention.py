"""retention: how long a schedule's runs are kept, the totals of swept rows, and indexes the sweep reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:30:00

The leading scheduler deletes ledger rows (with their workflow and node runs) older than
the schedule's ``run_retention_days`` (else RQFLOW_RUN_RETENTION_DAYS), and audit rows older
than RQFLOW_AUDIT_RETENTION_DAYS, oldest first, a small batch per transaction.

``ledger_totals`` counts every ledger row that reached an ended status (succeeded, failed,
skipped, missed), by status and trigger kind, kept by a trigger on ``schedule_runs`` in the
transaction that ends the row, whichever code path ends it. ``/metrics`` reads these totals
instead of counting the ledger at every scrape, and deleting old rows does not change them.
The rows already ended are counted once, here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENDED = "('succeeded', 'failed', 'skipped', 'missed')"

SQLITE_TRIGGERS = [f"""
CREATE TRIGGER trg_schedule_runs_count_ended_insert AFTER INSERT ON schedule_runs
WHEN NEW.status IN {ENDED}
BEGIN
    INSERT OR IGNORE INTO ledger_totals (status, trigger_kind, count) VALUES (NEW.status, NEW.trigger_kind, 0);
    UPDATE ledger_totals SET count = count + 1 WHERE status = NEW.status AND trigger_kind = NEW.trigger_kind;
END""", f"""
CREATE TRIGGER trg_schedule_runs_count_ended_update AFTER UPDATE OF status ON schedule_runs
WHEN NEW.status IN {ENDED} AND OLD.status NOT IN {ENDED}
BEGIN
    INSERT OR IGNORE INTO ledger_totals (status, trigger_kind, count) VALUES (NEW.status, NEW.trigger_kind, 0);
    UPDATE ledger_totals SET count = count + 1 WHERE status = NEW.status AND trigger_kind = NEW.trigger_kind;
END"""]

# Statement-level, reading the statement's rows as transition tables: one upsert per statement, however many
# rows it ends (a row-level counter updated a million times in one transaction walks an ever longer chain of
# row versions on PostgreSQL).
POSTGRES_TRIGGERS = [f"""
CREATE FUNCTION rqflow_count_ended_inserts() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_totals (status, trigger_kind, count)
    SELECT status, trigger_kind, count(*) FROM new_rows WHERE status IN {ENDED} GROUP BY status, trigger_kind
    ON CONFLICT (status, trigger_kind) DO UPDATE SET count = ledger_totals.count + EXCLUDED.count;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""", f"""
CREATE FUNCTION rqflow_count_ended_updates() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_totals (status, trigger_kind, count)
    SELECT n.status, n.trigger_kind, count(*) FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status IN {ENDED} AND o.status NOT IN {ENDED} GROUP BY n.status, n.trigger_kind
    ON CONFLICT (status, trigger_kind) DO UPDATE SET count = ledger_totals.count + EXCLUDED.count;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""", """
CREATE TRIGGER trg_schedule_runs_count_ended_insert AFTER INSERT ON schedule_runs
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rqflow_count_ended_inserts()""", """
CREATE TRIGGER trg_schedule_runs_count_ended_update AFTER UPDATE ON schedule_runs
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION rqflow_count_ended_updates()"""]


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
    op.execute(f"INSERT INTO ledger_totals (status, trigger_kind, count) SELECT status, trigger_kind, count(*) "
               f"FROM schedule_runs WHERE status IN {ENDED} GROUP BY status, trigger_kind")
    for statement in POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_schedule_runs_count_ended_insert ON schedule_runs")
        op.execute("DROP TRIGGER trg_schedule_runs_count_ended_update ON schedule_runs")
        op.execute("DROP FUNCTION rqflow_count_ended_inserts()")
        op.execute("DROP FUNCTION rqflow_count_ended_updates()")
    else:
        op.execute("DROP TRIGGER trg_schedule_runs_count_ended_insert")
        op.execute("DROP TRIGGER trg_schedule_runs_count_ended_update")
    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_changes_created_at')
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_runs_started_at')
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_runs_created_at')
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.drop_column('run_retention_days')
    op.drop_table('ledger_totals')
