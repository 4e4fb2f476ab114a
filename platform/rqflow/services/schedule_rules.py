"""The rules a schedule must follow, and its cadence as a timing spec."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from rqflow.errors import IntervalTooSmall, InvalidInput, NeverFires, RunAtInPast
from rqflow.models import Schedule
from rqflow.settings import get_settings
from rqflow.timing import ScheduleSpec

SPACING_FIELD = {"cron": "cron_expression", "interval": "interval_seconds", "once": "run_at"}
# Each kind with its article, for messages ("an interval schedule"); by sound, which a first letter cannot tell.
WITH_ARTICLE = {"cron": "a cron", "interval": "an interval", "once": "a once"}


class Cadenced(Protocol):
    """What a schedule's cadence is computed from: a ``Schedule`` row, or the claim's read of one."""

    @property
    def id(self) -> str: ...
    @property
    def schedule_type(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def cron_expression(self) -> str | None: ...
    @property
    def interval_seconds(self) -> int | None: ...
    @property
    def run_at(self) -> datetime | None: ...
    @property
    def start_at(self) -> datetime | None: ...
    @property
    def end_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def jitter_seconds(self) -> int: ...


def spec_of(schedule: Cadenced) -> ScheduleSpec:
    """The cadence of a stored (or about to be stored) schedule.

    Interval schedules without ``start_at`` count from the whole second they were created.
    """
    anchor = schedule.created_at.replace(microsecond=0) if schedule.created_at else None
    return ScheduleSpec(
        kind=schedule.schedule_type,  # type: ignore[arg-type]
        timezone=schedule.timezone,
        cron_expression=schedule.cron_expression,
        interval_seconds=schedule.interval_seconds,
        run_at=schedule.run_at,
        start_at=schedule.start_at,
        end_at=schedule.end_at,
        anchor=anchor,
    )


def check_schedule(schedule: Schedule, *, now: datetime, is_new: bool) -> None:
    """Raise a domain error naming the field if the schedule is invalid; never writes."""
    _check_kind_fields(schedule)
    spec = spec_of(schedule)
    spec.validate()
    minimum = get_settings().min_interval_seconds
    if spec.min_spacing_seconds() < minimum:
        raise IntervalTooSmall(
            f"this schedule would fire every {spec.min_spacing_seconds()} s; "
            f"the minimum is {minimum} s (RQFLOW_MIN_INTERVAL_SECONDS)",
            field=SPACING_FIELD[schedule.schedule_type],
        )
    _check_jitter(schedule, spec)
    _check_run_timeout(schedule)
    _check_retention(schedule)
    _check_budget(schedule)
    _check_notify(schedule)
    if schedule.schedule_type == "once" and schedule.run_at is not None and schedule.run_at <= now and is_new:
        raise RunAtInPast(f"run_at {schedule.run_at.isoformat()} is in the past")
    if is_new and spec.next_after(now) is None:
        raise NeverFires("this schedule has no occurrence after now (check end_at)", field="end_at")


def _check_run_timeout(schedule: Schedule) -> None:
    """A run's deadline may not be longer than the operator allows (RQFLOW_MAX_RUN_TIMEOUT_SECONDS)."""
    ceiling = get_settings().max_run_timeout_seconds
    if schedule.run_timeout_seconds is not None and schedule.run_timeout_seconds > ceiling:
        raise InvalidInput(f"run_timeout_seconds {schedule.run_timeout_seconds} is more than this server allows "
                           f"({ceiling}, RQFLOW_MAX_RUN_TIMEOUT_SECONDS)", field="run_timeout_seconds")


def _check_retention(schedule: Schedule) -> None:
    """A schedule may not keep its runs longer than the operator allows (RQFLOW_MAX_RUN_RETENTION_DAYS)."""
    ceiling = get_settings().max_run_retention_days
    if schedule.run_retention_days is not None and schedule.run_retention_days > ceiling:
        raise InvalidInput(f"run_retention_days {schedule.run_retention_days} is more than this server allows "
                           f"({ceiling}, RQFLOW_MAX_RUN_RETENTION_DAYS)", field="run_retention_days")


def _check_budget(schedule: Schedule) -> None:
    """A run's budget may not pass the operator's ceiling (RQFLOW_MAX_BUDGET_PER_RUN_USD, _MAX_TOKENS_PER_RUN)."""
    settings = get_settings()
    if schedule.max_budget_per_run_usd is not None and schedule.max_budget_per_run_usd > settings.max_budget_per_run_usd:
        raise InvalidInput(f"max_budget_per_run_usd {schedule.max_budget_per_run_usd:g} is more than this server "
                           f"allows ({settings.max_budget_per_run_usd:g}, RQFLOW_MAX_BUDGET_PER_RUN_USD)",
                           field="max_budget_per_run_usd")
    if schedule.max_tokens_per_run is not None and schedule.max_tokens_per_run > settings.max_tokens_per_run:
        raise InvalidInput(f"max_tokens_per_run {schedule.max_tokens_per_run} is more than this server allows "
                           f"({settings.max_tokens_per_run}, RQFLOW_MAX_TOKENS_PER_RUN)", field="max_tokens_per_run")


def _check_notify(schedule: Schedule) -> None:
    """Email entries need the operator's SMTP server, and an address the operator allows (RQFLOW_NOTIFY_EMAIL_ALLOW)."""
    settings = get_settings()
    for index, entry in enumerate(schedule.notify or []):
        address = entry.get("email")
        if address is None:
            continue
        field = f"notify.{index}.email"
        if settings.smtp_url is None:
            raise InvalidInput("this server sends no email (RQFLOW_SMTP_URL is not set); use a webhook", field=field)
        if not email_allowed(address, settings.notify_email_allow):
            raise InvalidInput(f"{address} is not an address this server sends to (RQFLOW_NOTIFY_EMAIL_ALLOW)",
                               field=field)


def email_allowed(address: str, allowed: list[str]) -> bool:
    """Whether the operator's list (domains and addresses; empty: any) lets email go to ``address``."""
    if not allowed:
        return True
    domain = address.rpartition("@")[2].lower()
    return any(entry.lower() in (address.lower(), domain) for entry in allowed)


def _check_kind_fields(schedule: Schedule) -> None:
    """Each kind needs its own field and refuses the others', so intent is never ambiguous."""
    needed = SPACING_FIELD[schedule.schedule_type]
    if getattr(schedule, needed) is None:
        raise InvalidInput(f"{needed} is required for {WITH_ARTICLE[schedule.schedule_type]} schedule", field=needed)
    for kind, field in SPACING_FIELD.items():
        if kind != schedule.schedule_type and getattr(schedule, field) is not None:
            raise InvalidInput(f"{field} is only for {kind} schedules, not for {WITH_ARTICLE[schedule.schedule_type]} "
                               "schedule", field=field)


def _check_jitter(schedule: Schedule, spec: ScheduleSpec) -> None:
    """Jitter must stay below the spacing, or a delayed occurrence could overtake the next one."""
    jitter = schedule.jitter_seconds or 0
    if jitter and jitter >= spec.min_spacing_seconds():
        raise InvalidInput(
            f"jitter_seconds {jitter} must be smaller than the schedule's spacing "
            f"({spec.min_spacing_seconds()} s), or occurrences would overtake each other",
            field="jitter_seconds",
        )
