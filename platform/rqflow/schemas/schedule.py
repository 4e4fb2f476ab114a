"""Schedules on the wire: ``ScheduleCreate / ScheduleUpdate / SchedulePublic / RunPublic``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from rqflow.schemas.common import LongText, Name, StrictInput

ScheduleType = Literal["cron", "interval", "once"]
ScheduleStatus = Literal["active", "paused", "stopped"]


class ScheduleFields(StrictInput):
    """The cadence of a schedule, shared by create and preview."""

    schedule_type: ScheduleType
    cron_expression: str | None = Field(default=None, max_length=100)
    interval_seconds: int | None = Field(default=None, ge=1, le=10 * 365 * 86400)
    run_at: AwareDatetime | None = None
    timezone: str = Field(default="UTC", max_length=64)
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None


class ScheduleCreate(ScheduleFields):
    """Body of ``POST /api/v1/schedules``."""

    name: Name
    description: LongText = ""
    workflow_id: int
    trigger_node_id: int | None = None
    max_runs: int | None = Field(default=None, ge=1)
    trigger_payload: dict[str, Any] | None = None


class ScheduleUpdate(StrictInput):
    """Body of ``PATCH /api/v1/schedules/{id}``: every field optional, only those given change."""

    name: Name | None = None
    description: LongText | None = None
    schedule_type: ScheduleType | None = None
    cron_expression: str | None = Field(default=None, max_length=100)
    interval_seconds: int | None = Field(default=None, ge=1, le=10 * 365 * 86400)
    run_at: AwareDatetime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    max_runs: int | None = Field(default=None, ge=1)
    trigger_node_id: int | None = None
    trigger_payload: dict[str, Any] | None = None


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
    status: ScheduleStatus
    next_run_at: datetime | None
    last_run_at: datetime | None
    run_count: int
    error_count: int
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
    trigger_kind: str
    status: str
    reason: str
    rq_job_id: str | None
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    error: str
