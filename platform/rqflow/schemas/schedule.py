"""Schedules on the wire: ``ScheduleCreate / ScheduleUpdate / SchedulePublic / RunPublic``,
``SchedulePreviewRequest / SchedulePreview`` for trying a cadence without storing it, and the
bodies of the pause and backfill actions and of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rqflow.schemas.common import MAX_DB_INT, NO_NUL, Instant, LongText, Name, RowId, StrictInput, TriggerKind
from rqflow.schemas.notify import NotifyEntry, NotifyList

ScheduleType = Literal["cron", "interval", "once"]
ScheduleStatus = Literal["active", "paused", "stopped"]
CatchupPolicy = Literal["skip", "latest", "all"]
OverlapPolicy = Literal["skip", "buffer_one", "allow"]
RunStatus = Literal["waiting", "enqueued", "running", "retrying", "succeeded", "failed", "skipped", "missed"]
# A cron line and a zone name as typed, without the spaces around them (a pasted "0 9 * * 1-5 " is stored
# trimmed, so it shows and compares as the line it is); the spaces inside are the user's.
CronLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
ZoneName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
# Strict: a JSON number, not "60" or true (which lax parsing would take for 60 s and 1 s). Ten years at most.
IntervalSeconds = Annotated[int, Field(ge=1, le=10 * 365 * 86400, strict=True)]

CATCHUP_HELP = ("What runs of the occurrences missed during downtime or a pause: skip (only the future), "
                "latest (the most recent once; default) or all (every one, oldest first).")
OVERLAP_HELP = ("What happens to an occurrence due while the previous run is still going: skip (default; "
                "recorded as skipped), buffer_one (at most one waits) or allow.")
WINDOW_HELP = "Missed occurrences older than this are never run (recorded as missed); default: no limit."
JITTER_HELP = ("Delay each occurrence by up to this many seconds, derived from the schedule and the occurrence "
               "(stable across restarts); must be below the schedule's spacing.")
FAILURES_HELP = "Pause the schedule after this many consecutive failed runs; default: never."
RETENTION_HELP = ("Keep this schedule's runs (ledger rows, workflow and node runs) this many days; default: the "
                  "server's RQFLOW_RUN_RETENTION_DAYS, at most RQFLOW_MAX_RUN_RETENTION_DAYS.")
BUDGET_HELP = ("The most one run may spend on model calls, in US dollars (the operator's prices); an agent stops "
               "before a call that could pass it and the run fails with reason budget_exceeded. At most "
               "RQFLOW_MAX_BUDGET_PER_RUN_USD.")
TOKENS_HELP = "The most tokens one run's model calls may use (as budget); at most RQFLOW_MAX_TOKENS_PER_RUN."
RUN_TIMEOUT_HELP = ("A run that has not ended this many seconds after it started (retries' waits included) fails "
                    "with reason timeout; default: the server's RQFLOW_RUN_TIMEOUT_SECONDS, at most "
                    "RQFLOW_MAX_RUN_TIMEOUT_SECONDS.")


class ScheduleFields(StrictInput):
    """The cadence of a schedule, shared by create and preview."""

    schedule_type: ScheduleType
    cron_expression: CronLine | None = None
    interval_seconds: IntervalSeconds | None = None
    run_at: Instant | None = None
    timezone: ZoneName = "UTC"
    start_at: Instant | None = None
    end_at: Instant | None = None


class ScheduleCreate(ScheduleFields):
    """Body of ``POST /api/v1/schedules``."""

    name: Name
    description: LongText = ""
    workflow_id: RowId
    trigger_node_id: RowId | None = None
    max_runs: int | None = Field(default=None, ge=1, le=MAX_DB_INT)
    trigger_payload: dict[str, Any] | None = None
    catchup_policy: CatchupPolicy = Field(default="latest", description=CATCHUP_HELP)
    catchup_window_seconds: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=WINDOW_HELP)
    overlap_policy: OverlapPolicy = Field(default="skip", description=OVERLAP_HELP)
    jitter_seconds: int = Field(default=0, ge=0, le=86400, description=JITTER_HELP)
    pause_after_failures: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=FAILURES_HELP)
    run_timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=RUN_TIMEOUT_HELP)
    run_retention_days: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=RETENTION_HELP)
    max_budget_per_run_usd: float | None = Field(default=None, gt=0, le=1e9, description=BUDGET_HELP)
    max_tokens_per_run: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=TOKENS_HELP)
    notify: NotifyList | None = None


class SchedulePreviewRequest(ScheduleFields):
    """Body of ``POST /api/v1/schedules/preview``: a cadence, where to start, and how many to show."""

    after: Instant | None = Field(default=None, description="Count from this instant; default: now.")
    # Enough for a year of daily runs; a cap keeps one request from computing without end.
    count: int = Field(default=10, ge=1, le=1000)


class SchedulePreview(BaseModel):
    """What a cadence would do: its next occurrences and the cadence in words; nothing is stored."""

    occurrences: list[datetime] = Field(description="The next occurrences, in the schedule's timezone.")
    description: str = Field(description="The cadence in words, in the schedule's timezone.")


class ScheduleUpdate(StrictInput):
    """Body of ``PATCH /api/v1/schedules/{id}``: every field optional, only those given change."""

    name: Name | None = None
    description: LongText | None = None
    schedule_type: ScheduleType | None = None
    cron_expression: CronLine | None = None
    interval_seconds: IntervalSeconds | None = None
    run_at: Instant | None = None
    timezone: ZoneName | None = None
    start_at: Instant | None = None
    end_at: Instant | None = None
    max_runs: int | None = Field(default=None, ge=1, le=MAX_DB_INT)
    trigger_node_id: RowId | None = None
    trigger_payload: dict[str, Any] | None = None
    catchup_policy: CatchupPolicy | None = Field(default=None, description=CATCHUP_HELP)
    catchup_window_seconds: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=WINDOW_HELP)
    overlap_policy: OverlapPolicy | None = Field(default=None, description=OVERLAP_HELP)
    jitter_seconds: int | None = Field(default=None, ge=0, le=86400, description=JITTER_HELP)
    pause_after_failures: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=FAILURES_HELP)
    run_timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=RUN_TIMEOUT_HELP)
    run_retention_days: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=RETENTION_HELP)
    max_budget_per_run_usd: float | None = Field(default=None, gt=0, le=1e9, description=BUDGET_HELP)
    max_tokens_per_run: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=TOKENS_HELP)
    notify: NotifyList | None = None


class SchedulePublic(BaseModel):
    """A schedule as clients see it, with its cadence in words and its next occurrences."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    workflow_id: int
    trigger_node_id: int | None
    schedule_type: ScheduleType
    cron_expression: str | None
    interval_seconds: int | None
    run_at: datetime | None
    timezone: str
    start_at: datetime | None
    end_at: datetime | None
    max_runs: int | None
    trigger_payload: dict[str, Any] | None
    catchup_policy: CatchupPolicy
    catchup_window_seconds: int | None
    overlap_policy: OverlapPolicy
    jitter_seconds: int
    pause_after_failures: int | None
    run_timeout_seconds: int | None
    run_retention_days: int | None
    max_budget_per_run_usd: float | None
    max_tokens_per_run: int | None
    notify: list[NotifyEntry] | None
    status: ScheduleStatus
    paused_reason: str
    paused_at: datetime | None
    paused_until: datetime | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    run_count: int
    error_count: int
    consecutive_failures: int
    missed_count: int
    last_error: str
    created_at: datetime
    updated_at: datetime
    cadence: str = Field(description="The cadence in words, in the schedule's timezone.")
    next_runs: list[datetime] = Field(description="The next five occurrences, in the schedule's timezone.")


class RunPublic(BaseModel):
    """One ledger row: what happened to one occurrence."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    scheduled_job_id: str
    scheduled_for: datetime
    trigger_kind: TriggerKind
    status: RunStatus
    reason: str
    rq_job_id: str | None
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    error: str
    next_attempt_at: datetime | None = Field(default=None, description="While retrying: when the next attempt is due.")
    total_tokens: int = Field(default=0, description="Tokens its workflows' model calls used, every attempt included.")
    total_cost_usd: float = Field(default=0.0, description="What those calls cost (US dollars, the operator's prices).")
    deadline_at: datetime | None = Field(default=None, description=(
        "The run fails with reason timeout if it has not ended by then."))


class PauseRequest(StrictInput):
    """Optional body of ``POST /api/v1/schedules/{id}/pause``."""

    reason: str = Field(default="", max_length=1000, pattern=NO_NUL,
                        description="Why; shown as paused_reason.")
    until: Instant | None = Field(default=None, description="Resume by itself at this instant.")


class BackfillRequest(StrictInput):
    """Body of ``POST /api/v1/schedules/{id}/backfill``: a past range whose occurrences to run."""

    start: Instant
    end: Instant


class BackfillPublic(BaseModel):
    """The ledger rows a backfill created, oldest first (they run in that order), and what it did in words."""

    count: int
    runs: list[RunPublic]
    already_recorded: int = Field(default=0, description=(
        "Occurrences in the range that already had a ledger row (from their own time, a catch-up or an earlier "
        "backfill), so were not queued again."))
    message: str = Field(default="", description=(
        "What the backfill did, e.g. why nothing was queued: no occurrence falls in the range (with the "
        "schedule's cadence), or every one already has a row."))


class ChangePublic(BaseModel):
    """One entry of a schedule's audit trail."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    scheduled_job_id: str
    actor: str = Field(description="user:<name> for a person, system:<part> for the scheduler or a worker.")
    action: Literal["create", "update", "pause", "resume", "stop", "delete"]
    reason: str
    changes: dict[str, dict[str, Any]] = Field(description="{field: {old, new}} for every field that changed.")
    created_at: datetime
