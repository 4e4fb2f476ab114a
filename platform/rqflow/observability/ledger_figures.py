"""Figures read from the database at scrape time: the ledger by status, schedules by status.

Rows still going (``waiting``, ``enqueued``, ``running``, ``retrying``) are counted at
scrape time, along the ledger's ``status`` index (``ix_schedule_runs_status_started_at``):
there are few of them. Ended rows are read from ``ledger_totals``, which a database
trigger keeps as each row ends, so a scrape never counts the whole ledger, and the
figures do not drop when the retention sweep or a deleted schedule takes rows away.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Connection, func, select

from rqflow.models import LedgerTotal, Schedule, ScheduleRun
from rqflow.models.ledger_total import ENDED_STATUSES
from rqflow.models.schedule import SCHEDULE_STATUSES
from rqflow.models.schedule_run import RUN_STATUSES, TRIGGER_KINDS

# Ledger statuses of rows that were handed to RQ: the occurrences that fired.
FIRED_STATUSES = ("enqueued", "running", "succeeded", "failed")


def ledger_metrics(connection: Connection) -> list[Metric]:
    """Occurrences by status and trigger kind, occurrences fired, and schedules by status."""
    going = [status for status in RUN_STATUSES if status not in ENDED_STATUSES]
    runs = {(status, kind): count for status, kind, count in connection.execute(
        select(ScheduleRun.status, ScheduleRun.trigger_kind, func.count()).where(ScheduleRun.status.in_(going))
        .group_by(ScheduleRun.status, ScheduleRun.trigger_kind))}
    for status, kind, count in connection.execute(select(LedgerTotal.status, LedgerTotal.trigger_kind,
                                                         LedgerTotal.count)):
        runs[(status, kind)] = int(count)
    schedules = dict(connection.execute(select(Schedule.status, func.count()).group_by(Schedule.status)).all())
    return [_occurrences(runs), _fired(runs), _schedules(schedules)]


def _occurrences(runs: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "rqflow_occurrences",
        "Ledger rows (schedule_runs) by status and trigger kind: rows still going as the ledger holds them now, "
        "ended rows as every row that ever ended so (kept by a database trigger; retention does not lower them).",
        labels=["status", "trigger"])
    for status in _with_unknown(RUN_STATUSES, (s for s, _ in runs)):
        for kind in _with_unknown(TRIGGER_KINDS, (k for _, k in runs)):
            family.add_metric([status, kind], runs.get((status, kind), 0))
    return family


def _fired(runs: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "rqflow_occurrences_fired",
        "Ledger rows handed to RQ (enqueued, running, succeeded or failed) by trigger kind, counted at scrape time.",
        labels=["trigger"])
    for kind in _with_unknown(TRIGGER_KINDS, (k for _, k in runs)):
        family.add_metric([kind], sum(runs.get((status, kind), 0) for status in FIRED_STATUSES))
    return family


def _schedules(schedules: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "rqflow_schedules", "Schedules by status (active ones should each have one timer), counted at scrape time.",
        labels=["status"])
    for status in _with_unknown(SCHEDULE_STATUSES, schedules):
        family.add_metric([status], schedules.get(status, 0))
    return family


def _with_unknown(known: tuple[str, ...], seen: Iterable[str]) -> list[str]:
    """Every known value (so a series exists before its first row), then any value the code does not know yet."""
    return [*known, *sorted(set(seen) - set(known))]
