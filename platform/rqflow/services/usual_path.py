"""The usual occurrence as a few Core statements, for the case where the rules have nothing to decide.

Almost every occurrence is that case: the schedule is active and expects it, it is
the only one due and it is on time, no ledger row has it yet, the slot is free (or
the policy is ``allow``), ``max_runs`` leaves room and a next occurrence exists. Its
claim is then one locking read, one insert and one update; and a run that succeeded
with nothing waiting and no failure streak to reset ends with one locking read and
one update. Anything else goes through the ORM path in
:mod:`rqflow.services.occurrences`, which holds the rules (catch-up, overlap,
``max_runs``, pauses, stops, failures); this module only recognises that none of
them applies and writes what that path would write. Profiled, the ORM's loads and
flushes were 70 % of an occurrence's cost (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, insert, select, update
from sqlalchemy.orm import Session

from rqflow.job_ids import fire_job_id
from rqflow.models import Schedule, ScheduleRun
from rqflow.services.notifications import wants
from rqflow.services.overlap import holds_slot
from rqflow.services.run_deadlines import deadline_for

SCHEDULES = cast(Table, Schedule.__table__)
RUNS = cast(Table, ScheduleRun.__table__)


@dataclass(frozen=True)
class ClaimFacts:
    """The schedule as its claim reads it under the row lock, with what the ledger says about it."""

    id: str
    name: str
    workflow_id: int
    trigger_node_id: int | None
    user_profile_id: int
    trigger_payload: dict[str, Any] | None
    schedule_type: str
    cron_expression: str | None
    interval_seconds: int | None
    run_at: datetime | None
    timezone: str
    start_at: datetime | None
    end_at: datetime | None
    created_at: datetime | None
    max_runs: int | None
    run_count: int
    catchup_policy: str
    catchup_window_seconds: int | None
    overlap_policy: str
    jitter_seconds: int
    run_timeout_seconds: int | None
    max_budget_per_run_usd: float | None
    max_tokens_per_run: int | None
    status: str
    next_run_at: datetime | None
    slot_taken: bool  # a run of the schedule is enqueued, or running and not stale
    recorded: bool  # the delivered occurrence already has a ledger row


CLAIM_COLUMNS = [SCHEDULES.c[f.name] for f in fields(ClaimFacts) if f.name not in ("slot_taken", "recorded")]
OTHER_RUNS = RUNS.alias("other_runs")

# Built once: a statement object keeps its compiled form's cache key, so each use only binds values.
READ_FOR_CLAIM = (
    select(
        *CLAIM_COLUMNS,
        exists().where(RUNS.c.scheduled_job_id == SCHEDULES.c.id,
                       holds_slot(bindparam("stale_before"))).label("slot_taken"),
        exists().where(RUNS.c.scheduled_job_id == SCHEDULES.c.id,
                       RUNS.c.scheduled_for == bindparam("scheduled_for")).label("recorded"),
    )
    .where(SCHEDULES.c.id == bindparam("schedule_id"))
    .with_for_update(of=SCHEDULES)
)
INSERT_RUNNING = insert(RUNS).returning(RUNS.c.id)
ADVANCE = (update(SCHEDULES).where(SCHEDULES.c.id == bindparam("schedule_id"))
           .values(run_count=SCHEDULES.c.run_count + 1))
READ_FOR_END = (
    select(RUNS.c.status.label("run_status"), RUNS.c.started_at, RUNS.c.trigger_kind,
           SCHEDULES.c.consecutive_failures, SCHEDULES.c.user_profile_id, SCHEDULES.c.notify,
           exists().where(OTHER_RUNS.c.scheduled_job_id == SCHEDULES.c.id,
                          OTHER_RUNS.c.status == "waiting").label("waiting"))
    .join_from(SCHEDULES, RUNS, RUNS.c.scheduled_job_id == SCHEDULES.c.id)
    .where(SCHEDULES.c.id == bindparam("schedule_id"), RUNS.c.id == bindparam("run_id"))
    .with_for_update(of=SCHEDULES)
)
# A reason given at the end (none matched) replaces the one given at the claim (catch-up); none keeps it.
END_SUCCEEDED = update(RUNS).where(RUNS.c.id == bindparam("run_id")).values(
    status="succeeded", error="", reason=func.coalesce(func.nullif(bindparam("end_reason"), ""), RUNS.c.reason))


def read_for_claim(db: Session, schedule_id: str, scheduled_for: datetime, stale_before: datetime) -> ClaimFacts | None:
    """Lock the schedule's row and read it, whether its slot is taken and whether the occurrence has a row."""
    row = db.connection().execute(READ_FOR_CLAIM, {"schedule_id": schedule_id, "scheduled_for": scheduled_for,
                                                   "stale_before": stale_before}).first()
    return ClaimFacts(**row._asdict()) if row is not None else None


def start_run(db: Session, facts: ClaimFacts, scheduled_for: datetime, *, next_run_at: datetime, now: datetime,
              rq_job_id: str | None, enqueued_at: datetime | None) -> int:
    """Write the occurrence's ledger row as ``running`` and move the schedule on; the new row's id."""
    connection = db.connection()
    run_id: int = connection.execute(INSERT_RUNNING, {
        "scheduled_job_id": facts.id, "scheduled_for": scheduled_for, "trigger_kind": "schedule",
        "status": "running", "reason": "", "rq_job_id": rq_job_id, "enqueued_at": enqueued_at, "started_at": now,
        "deadline_at": deadline_for(facts.run_timeout_seconds, now), "created_at": now}).scalar_one()
    connection.execute(ADVANCE, {"schedule_id": facts.id, "next_run_at": next_run_at, "last_run_at": now,
                                 "rq_job_id": fire_job_id(facts.id, next_run_at)})
    return run_id


@dataclass(frozen=True)
class EndFacts:
    """A started run and its schedule, as their end reads them under the schedule's row lock."""

    run_status: str
    started_at: datetime | None
    trigger_kind: str
    consecutive_failures: int
    user_profile_id: int
    notify: list[dict[str, Any]] | None
    waiting: bool  # a run of the schedule waits for the slot


def read_for_end(db: Session, schedule_id: str, run_id: int) -> EndFacts | None:
    """Lock the schedule's row and read the run; None if either is gone."""
    row = db.connection().execute(READ_FOR_END, {"schedule_id": schedule_id, "run_id": run_id}).first()
    return EndFacts(**row._asdict()) if row is not None else None


def quiet_success(facts: EndFacts) -> bool:
    """A success that changes nothing but the row: no failure streak to reset, nobody waiting for the slot, nobody
    to notify."""
    return facts.run_status == "running" and not facts.waiting and (
        facts.trigger_kind != "schedule" or facts.consecutive_failures == 0) and not wants(facts.notify, "succeeded")


def end_succeeded(db: Session, run_id: int, facts: EndFacts, *, reason: str, now: datetime,
                  spent: tuple[int, float]) -> None:
    """Record a quiet success: the row's outcome, duration and what its model calls used."""
    duration = (now - facts.started_at).total_seconds() if facts.started_at else None
    db.connection().execute(END_SUCCEEDED, {"run_id": run_id, "end_reason": reason, "finished_at": now,
                                            "duration_seconds": duration, "total_tokens": spent[0],
                                            "total_cost_usd": spent[1]})
