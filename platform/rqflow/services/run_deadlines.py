"""A run's deadline: the instant by which a run must have ended, retries' waits included.

It is fixed when the run starts (the schedule's ``run_timeout_seconds``, else the operator's
``RQFLOW_RUN_TIMEOUT_SECONDS``) and written on the ledger row, so every process that
touches the run later (a continuation, the scheduler's sweep) applies the same one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rqflow.settings import get_settings

# The error of a run the scheduler's sweep found past its deadline (no worker recorded it first).
PAST_DEADLINE_ERROR = "the run went past its deadline (run_timeout_seconds)"


def deadline_for(run_timeout_seconds: int | None, started_at: datetime) -> datetime:
    """When a run started at ``started_at`` must have ended."""
    return started_at + timedelta(seconds=run_timeout_seconds or get_settings().run_timeout_seconds)
