"""The inputs of the five scheduler tools, shaped for LLM function calling.

Every field is present in the schema; optional ones are nullable (``null`` means
"the default"), which is what OpenAI's strict mode asks for. Free-form objects
are not allowed there, so ``trigger_payload`` travels as a JSON text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from rqflow.schemas.common import MAX_DB_INT, NO_NUL, Instant, RowId, StrictInput
from rqflow.schemas.json_values import UnsafeJson, loads_safe
from rqflow.schemas.notify import MAX_NOTIFY_ENTRIES, parse_notify_line
from rqflow.schemas.schedule import (
    CatchupPolicy,
    IntervalSeconds,
    OverlapPolicy,
    ScheduleCreate,
    ScheduleStatus,
    ScheduleType,
)

ScheduleId = Field(min_length=1, max_length=36, pattern=NO_NUL,
                   description="The schedule's id, as schedule_list or schedule_create gave it.")


class ToolInput(StrictInput):
    """Base of tool inputs."""


class ScheduleCreateInput(ToolInput):
    """Create an active schedule that starts one of your workflows; answers the stored schedule."""

    name: str = Field(min_length=1, max_length=255, pattern=NO_NUL,
                      description="A short name, e.g. 'weekday-report'.")
    workflow_id: RowId = Field(description="The id of one of your workflows, started at each occurrence.")
    schedule_type: ScheduleType = Field(description="cron (cron_expression), interval (interval_seconds) "
                                        "or once (run_at).")
    cron_expression: str | None = Field(default=None, max_length=100, description=(
        "Five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5' (09:00 on weekdays)."))
    interval_seconds: IntervalSeconds | None = Field(default=None, description="Seconds between occurrences.")
    run_at: Instant | None = Field(default=None, description=(
        "For once: ISO 8601 with an offset, e.g. '2030-01-01T09:00:00+01:00'."))
    timezone: str | None = Field(default=None, max_length=64, description=(
        "IANA zone the cron expression is read in, e.g. 'Europe/Berlin'; null means UTC."))
    description: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL,
                                    description="What the schedule is for.")
    start_at: Instant | None = Field(default=None, description="No occurrence before this instant.")
    end_at: Instant | None = Field(default=None, description="No occurrence after this instant.")
    max_runs: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description="Stop after this many runs.")
    trigger_node_id: RowId | None = Field(default=None,
                                          description="Start only this trigger node of the workflow.")
    trigger_payload: str | None = Field(default=None, max_length=100_000, description=(
        "A JSON object given to the workflow as event.payload, e.g. '{\"report\": \"sales\"}'."))
    catchup_policy: CatchupPolicy | None = Field(default=None, description=(
        "Missed occurrences after downtime or a pause: skip, latest (null means latest) or all."))
    catchup_window_seconds: int | None = Field(default=None, ge=1, le=MAX_DB_INT,
                                               description="Never run misses older than this.")
    overlap_policy: OverlapPolicy | None = Field(default=None, description=(
        "An occurrence due while the previous run goes: skip (null means skip), buffer_one or allow."))
    jitter_seconds: int | None = Field(default=None, ge=0, le=86400, description=(
        "Spread load: delay each occurrence by up to this many seconds."))
    pause_after_failures: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=(
        "Pause after this many consecutive failed runs."))
    run_timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=(
        "Fail a run (reason timeout) that has not ended this many seconds after it started; null: the server's."))
    run_retention_days: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=(
        "Keep this schedule's runs this many days; null: the server's default."))
    max_budget_per_run_usd: float | None = Field(default=None, gt=0, le=1e9, description=(
        "The most one run may spend on model calls, in US dollars; null: no budget."))
    max_tokens_per_run: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description=(
        "The most tokens one run's model calls may use; null: no limit."))
    notify: list[Annotated[str, Field(max_length=2100, pattern=NO_NUL)]] | None = Field(
        default=None, max_length=MAX_NOTIFY_ENTRIES, description=(
            "Who hears about runs, one entry each: the outcomes, a space, then a webhook URL or an email address, "
            "e.g. 'failed,timeout https://hooks.example.com/x' or 'succeeded ops@example.com'. Outcomes: "
            "succeeded, failed, timeout, budget_exceeded, missed, auto_paused, daily_budget."))

    @field_validator("notify")
    @classmethod
    def _notify_lines(cls, value: list[str] | None) -> list[str] | None:
        for line in value or []:
            parse_notify_line(line)  # its ValueError names the line and what is wrong
        return value

    @field_validator("trigger_payload")
    @classmethod
    def _json_object(cls, value: str | None) -> str | None:
        if value is not None and not isinstance(_loads(value), dict):
            raise ValueError("trigger_payload must be a JSON object, e.g. '{\"key\": \"value\"}'")
        return value

    def to_create(self) -> ScheduleCreate:
        """The REST body this input stands for: nulls become the defaults."""
        given = {name: value for name, value in self.model_dump().items() if value is not None}
        if "trigger_payload" in given:
            given["trigger_payload"] = loads_safe(given["trigger_payload"])
        if "notify" in given:
            given["notify"] = [parse_notify_line(line).model_dump() for line in given["notify"]]
        return ScheduleCreate.model_validate(given)


class SchedulePauseInput(ToolInput):
    """Pause a schedule (nothing fires until it is resumed); idempotent."""

    schedule_id: str = ScheduleId
    reason: str | None = Field(default=None, max_length=1000, pattern=NO_NUL,
                               description="Why, shown on the schedule.")
    until: Instant | None = Field(default=None, description="Resume by itself at this instant (ISO 8601).")


class ScheduleResumeInput(ToolInput):
    """Resume a paused schedule; idempotent."""

    schedule_id: str = ScheduleId


class ScheduleStopInput(ToolInput):
    """Stop a schedule for good: it is deleted with its run history. Cannot be undone."""

    schedule_id: str = ScheduleId


class ScheduleListInput(ToolInput):
    """List your schedules, oldest first, with their cadence in words and next runs."""

    status: ScheduleStatus | None = Field(default=None, description="Only active, paused or stopped ones.")
    name: str | None = Field(default=None, max_length=255, pattern=NO_NUL,
                             description="Only names containing this text.")
    limit: int | None = Field(default=None, ge=1, le=100, description="At most this many (null means 50).")
    offset: int | None = Field(default=None, ge=0, le=MAX_DB_INT, description="Skip this many (for paging).")


class ToolError(BaseModel):
    """Why a tool call was refused, shaped so an agent can correct itself."""

    type: str
    kind: Literal["invalid_input", "not_found", "conflict"]
    field: str | None
    message: str
    hint: str


class ToolAnswer(BaseModel):
    """Every tool's answer: ``{"ok": true, "result": ...}``, or ``{"ok": false, "error": {...}}`` when refused."""

    ok: bool
    result: Any = None
    error: ToolError | None = None


def _loads(value: str) -> Any:
    try:
        return loads_safe(value)
    except UnsafeJson as exc:
        raise ValueError(f"trigger_payload cannot be stored: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"trigger_payload is not valid JSON: {exc}") from None
