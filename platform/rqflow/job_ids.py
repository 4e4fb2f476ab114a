"""RQ job ids for rqflow's jobs. RQ accepts only letters, digits, ``-`` and ``_`` in ids.

Ids are deterministic, so re-arming the same occurrence overwrites its timer
instead of adding a second one.
"""

from __future__ import annotations

from datetime import datetime

FIRE_PREFIX = "rqflow-fire-"
RUN_PREFIX = "rqflow-run-"
CONTINUE_PREFIX = "rqflow-continue-"
NOTIFY_PREFIX = "rqflow-notify-"


def fire_job_id(schedule_id: str, scheduled_for: datetime) -> str:
    """The timer (and queued job) of one occurrence: ``rqflow-fire-<schedule id>-<epoch seconds>``."""
    return f"{FIRE_PREFIX}{schedule_id}-{int(scheduled_for.timestamp())}"


def parse_fire_job_id(job_id: str) -> tuple[str, int] | None:
    """``(schedule id, epoch seconds)`` of a fire job id, or None for any other id."""
    if not job_id.startswith(FIRE_PREFIX):
        return None
    schedule_id, _, epoch = job_id[len(FIRE_PREFIX):].rpartition("-")
    return (schedule_id, int(epoch)) if schedule_id and epoch.isdigit() else None


def run_job_id(schedule_id: str, run_id: int) -> str:
    """The queued job of one ledger row run outside its timer (run now, catch-up, backfill, hand-over)."""
    return f"{RUN_PREFIX}{schedule_id}-{run_id}"


def continue_job_id(workflow_run_id: int, attempt: int) -> str:
    """The timer (and queued job) of one retry: ``rqflow-continue-<workflow run id>-<attempt>``."""
    return f"{CONTINUE_PREFIX}{workflow_run_id}-{attempt}"


def notify_job_id(delivery_id: int, attempt: int) -> str:
    """The timer (and queued job) of one try at a notification: ``rqflow-notify-<delivery id>-<attempt>``."""
    return f"{NOTIFY_PREFIX}{delivery_id}-{attempt}"
