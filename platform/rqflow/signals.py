"""How services tell the scheduling machinery about a change, without knowing Redis or RQ.

The API and the tools pass a Redis-backed implementation (``rqflow.broker.signals``);
code that runs without Redis passes :class:`NullSignals`, and the scheduler's
reconcile loop catches up within one period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class NextTimer:
    """The schedule's next occurrence and the instant its timer goes off (with jitter)."""

    occurrence: datetime
    fire_at: datetime


@dataclass(frozen=True)
class RunStart:
    """A run that started: when it was due, when it started, and what started it."""

    scheduled_for: datetime
    started_at: datetime
    trigger_kind: str


class SchedulerSignals(Protocol):
    """Called by services after their transaction commits."""

    def schedule_changed(self, schedule_id: str) -> None:
        """The row changed (created, edited, paused, resumed, deleted): re-arm or cancel its timer."""

    def run_now(self, *, schedule_id: str, run_id: int, bulk: bool = False) -> None:
        """Put a run (already in the ledger, status ``enqueued``) on the queue.

        ``bulk``: a manual run or a backfill, which goes to the queue workers take only when no
        scheduled occurrence waits, so nobody's bulk work delays anyone's schedule.
        """

    def duplicate_refused(self) -> None:
        """A delivery of an occurrence was refused (stale or already claimed): count it for ``/metrics``."""

    def run_started(self, *, scheduled_for: datetime, started_at: datetime, trigger_kind: str) -> None:
        """A run started ``started_at - scheduled_for`` late: record it for ``/metrics``."""

    def claimed(self, *, schedule_id: str, next_timer: NextTimer | None, start: RunStart | None) -> None:
        """A worker claimed a timer's occurrence and moved the schedule on: arm the next one's timer at once
        and, if a run started, count it as :meth:`run_started` does; told at once (one round trip to Redis
        on every occurrence)."""

    def retry_later(self, *, workflow_run_id: int, attempt: int, at: datetime) -> None:
        """A workflow run waits for attempt ``attempt`` of a node: arm the timer that takes it up at ``at``."""

    def llm_used(self, *, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """A model call used these tokens at this cost: count them for ``/metrics``."""

    def notify_later(self, *, delivery_id: int, attempt: int, at: datetime) -> None:
        """A notification's try ``attempt`` is due at ``at``: arm the timer that sends it."""


class NullSignals:
    """Signals that go nowhere, for callers without Redis."""

    def schedule_changed(self, schedule_id: str) -> None:
        """Ignore; the reconcile loop will notice."""

    def run_now(self, *, schedule_id: str, run_id: int, bulk: bool = False) -> None:
        """Ignore; the scheduler's sweep queues ``enqueued`` rows that have no job."""

    def duplicate_refused(self) -> None:
        """Ignore; nothing counts without Redis."""

    def run_started(self, *, scheduled_for: datetime, started_at: datetime, trigger_kind: str) -> None:
        """Ignore; nothing counts without Redis."""

    def claimed(self, *, schedule_id: str, next_timer: NextTimer | None, start: RunStart | None) -> None:
        """Ignore; the scheduler's reconcile pass arms the next one."""

    def retry_later(self, *, workflow_run_id: int, attempt: int, at: datetime) -> None:
        """Ignore; the scheduler's reconcile pass arms the timer of every run waiting for a retry."""

    def llm_used(self, *, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """Ignore; nothing counts without Redis."""

    def notify_later(self, *, delivery_id: int, attempt: int, at: datetime) -> None:
        """Ignore; the scheduler's reconcile pass arms the timer of every pending notification."""
