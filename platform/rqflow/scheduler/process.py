"""``rqflow scheduler``: rq-scheduler's Scheduler, with a lease, a database sync and a fast tick.

What it changes from rq-scheduler, and why (docs/ARCHITECTURE.md, "Decisions and why", has more):

- **Leadership** is a renewed lease (:mod:`rqflow.broker.lease`), not a per-tick lock
  that a long tick lets a second scheduler into.
- **Timers come from the database**: on taking the lease it re-arms every active
  schedule in bulk, and it repeats the comparison every ``reconcile_seconds``.
- **Changes take effect at once**: services and workers publish on a wake channel;
  the loop waits on that channel instead of sleeping, so an edit is applied and a
  newly armed timer is seen within milliseconds.
- **The tick moves due timers in one transaction per batch** without unpickling them
  (:mod:`rqflow.scheduler.dispatch`), instead of nine round trips and a re-pickle each.
- **Upkeep rides on the reconcile pass**: overdue schedules get their catch-up
  (missed-run detection), runs of lost workers are failed, runs whose queued job
  Redis lost are queued again, and schedules paused ``until`` an instant resume
  at that instant (the loop wakes for it). It also runs RQ's cleanup of abandoned
  jobs (a dead worker's), whose failure callbacks fail their runs
  (:mod:`rqflow.jobs.failures`); RQ's own workers do that only every ten minutes.
- **Retention rides on the loop**: old ended runs and audit rows are deleted a small
  batch per transaction, at most ``RETENTION_BUDGET_SECONDS`` of each pass, until none
  is left; then it looks again every ``RETENTION_IDLE_SECONDS``
  (:mod:`rqflow.services.retention`).
- **The tick is fenced by the lease**: a scheduler frozen mid-tick and woken after
  another took over moves nothing (:meth:`~rqflow.broker.lease.Lease.fence`).

The scheduler only moves timers to the queue; whether an occurrence runs is
decided by the worker's claim in the database.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError
from rq.job import Job
from rq_scheduler import Scheduler
from sqlalchemy.exc import SQLAlchemyError

from rqflow.broker.callbacks import sweep_abandoned
from rqflow.broker.lease import Lease
from rqflow.broker.signals import RedisSignals
from rqflow.broker.timers import RQFLOW_TIMER_PREFIXES, SCHEDULED_SET, TimerOptions, as_text
from rqflow.broker.wake import WAKE_CHANNEL, ScheduleChanged, parse
from rqflow.db import get_sessionmaker
from rqflow.scheduler.dispatch import LeaseLost, move_due
from rqflow.scheduler.sync import rearm_notifications, rearm_retries, reconcile, requeue_lost, sync_schedule
from rqflow.services import retention, upkeep
from rqflow.settings import Settings

log = logging.getLogger(__name__)

TICK_BATCH = 5000
# After an error talking to Redis or the database, wait this long before trying again.
ERROR_BACKOFF_SECONDS = 1.0
# The retention sweep takes at most this much of one pass of the loop, and with nothing old left
# it looks again after RETENTION_IDLE_SECONDS.
RETENTION_BUDGET_SECONDS = 0.2
RETENTION_IDLE_SECONDS = 60.0
# While old rows are left, the loop comes back this soon (it still wakes at once for a due timer).
RETENTION_BACKLOG_WAIT = 0.02


class RqflowScheduler(Scheduler):  # type: ignore[misc]  # rq-scheduler ships no type information
    """A scheduler process; run several for failover, one leads at a time."""

    def __init__(self, *, connection: Redis, settings: Settings) -> None:
        super().__init__(queue_name=settings.queue, connection=connection, interval=settings.poll_seconds)
        self.settings = settings
        self.options = TimerOptions.from_settings(settings)
        self.lease = Lease(connection, ttl_seconds=settings.lease_seconds)
        self.sessionmaker = get_sessionmaker(settings.database_url)
        self.signals = RedisSignals(connection)
        self.next_resume: datetime | None = None
        self.is_leader = False
        self.last_reconcile = 0.0
        self.changed: set[str] = set()
        self.stopping = False
        self.next_sweep = 0.0  # time.monotonic() of the next retention sweep

    # -- the clock ---------------------------------------------------------------------------

    def _clock(self) -> float:
        """Seconds since the epoch by Redis's clock: the one the timers are scored against, shared by every scheduler."""
        seconds, micros = self.connection.time()
        return float(seconds) + float(micros) / 1_000_000

    def _utcnow(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # -- the tick ---------------------------------------------------------------------------

    def enqueue_jobs(self) -> list[str]:
        """Move every due timer to its queue, a batch at a time; return the ids moved."""
        moved: list[str] = []
        while True:
            members = self.connection.zrangebyscore(SCHEDULED_SET, 0, int(self._clock()), start=0, num=TICK_BATCH)
            ids = [as_text(member) for member in members]
            try:
                moved += move_due(self.connection, [i for i in ids if i.startswith(RQFLOW_TIMER_PREFIXES)],
                                  self.lease)
            except LeaseLost:
                log.warning("scheduler %s lost the lease during a tick; moved nothing", self.name)
                return moved
            self._enqueue_foreign([i for i in ids if not i.startswith(RQFLOW_TIMER_PREFIXES)])
            if len(ids) < TICK_BATCH:
                return moved

    def _enqueue_foreign(self, ids: list[str]) -> None:
        """Entries someone else put in rq-scheduler's set are moved the way rq-scheduler itself does."""
        for job_id, job in zip(ids, Job.fetch_many(ids, connection=self.connection), strict=True):
            if job is None:
                self.connection.zrem(SCHEDULED_SET, job_id)  # its hash is gone; nothing to run
            else:
                super().enqueue_job(job)  # removes it, or re-arms a recurring entry

    # -- keeping Redis in step with the database -------------------------------------------------

    def reconcile(self) -> None:
        """Upkeep first (it moves schedules on), then compare every active schedule with the timers in Redis."""
        started = time.monotonic()
        now = self._utcnow()
        with self.sessionmaker() as db:
            resumed = upkeep.resume_due(db, now=now, signals=self.signals)
            caught_up = upkeep.catch_up_overdue(db, now=now, signals=self.signals)
            lost = upkeep.fail_lost_runs(db, now=now, signals=self.signals)
            timed_out = upkeep.fail_past_deadline(db, now=now, signals=self.signals)
            handed = upkeep.hand_over_idle(db, now=now, signals=self.signals)
            requeued = requeue_lost(self.connection, upkeep.queued_runs(db, now=now), self.signals)
            report = reconcile(db, self.connection, self.options)
            retries = rearm_retries(db, self.connection, self.options)
            notifications = rearm_notifications(db, self.connection, self.options)
            self.next_resume = upkeep.next_auto_resume(db)
        abandoned = sum(sweep_abandoned(self.connection, name) for name in (self.settings.queue,
                                                                            self.settings.bulk_queue))
        self.last_reconcile = time.monotonic()
        log.info(
            "reconciled %d active schedules in %.3f s: armed %d, cancelled %d, in flight %d; "
            "resumed %d, caught up %d overdue, failed %d lost runs and %d past their deadline, started %d waiting, "
            "re-queued %d, re-armed %d retries and %d notifications, abandoned jobs %d",
            report.active, self.last_reconcile - started, report.armed, report.cancelled, report.in_flight,
            resumed, caught_up, lost, timed_out, handed, requeued, retries, notifications, abandoned,
        )
        self.changed.clear()  # the full pass covered them

    def apply_changes(self) -> None:
        """Re-arm or cancel the schedules named by change notifications; note any new auto-resume time."""
        changed, self.changed = self.changed, set()
        with self.sessionmaker() as db:
            for schedule_id in changed:
                sync_schedule(db, self.connection, self.options, schedule_id)
            self.next_resume = upkeep.next_auto_resume(db)

    def resume_due(self) -> None:
        """Resume the schedules whose pause has run out (their timers follow through the wake channel)."""
        with self.sessionmaker() as db:
            resumed = upkeep.resume_due(db, now=self._utcnow(), signals=self.signals)
            self.next_resume = upkeep.next_auto_resume(db)
        log.info("resumed %d schedules whose pause ran out", resumed)

    # -- the loop -------------------------------------------------------------------------------

    def run(self, burst: bool = False) -> None:
        """Lead or stand by until stopped; ``burst`` does one pass and returns (for tests)."""
        self.register_birth()
        self._install_signal_handlers()
        pubsub = self.connection.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(WAKE_CHANNEL)
        try:
            while not self.stopping:
                wait = self._step()
                if burst:
                    break
                self._wait(pubsub, wait)
        finally:
            self._shutdown(pubsub)

    def _step(self) -> float:
        """One pass of the loop; returns how long to wait before the next."""
        try:
            self.heartbeat()
            if not self._lead():
                return self.settings.poll_seconds
            self._maintain_safely()
            self.enqueue_jobs()
            self._sweep_safely()
            return self._until_next_due()
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("scheduler pass failed, retrying: %s", exc)
            return ERROR_BACKOFF_SECONDS

    def _lead(self) -> bool:
        """Hold the lease; on becoming leader, force a full sync first."""
        leader = self.lease.hold()
        if leader and not self.is_leader:
            log.info("scheduler %s is now the leader", self.name)
            self.last_reconcile = 0.0
        elif self.is_leader and not leader:
            log.warning("scheduler %s lost the lease; standing by", self.name)
        self.is_leader = leader
        return leader

    def _maintain_safely(self) -> None:
        """Upkeep, where a defect in rqflow's own code is logged and retried next period while timers keep firing.

        An error here once ended the process (and, under honcho, the whole stack), so one
        broken schedule stopped every other one from firing.
        """
        try:
            self._maintain()
        except (RedisError, SQLAlchemyError, OSError):
            raise
        except Exception:
            log.exception("scheduler upkeep failed; timers still fire and upkeep is tried again next period")
            self.last_reconcile = time.monotonic()

    def _sweep_safely(self) -> None:
        """Delete a budget's worth of rows past their retention, if it is time; a defect is logged, not raised."""
        if time.monotonic() < self.next_sweep:
            return
        try:
            with self.sessionmaker() as db:
                report = retention.sweep(db, now=self._utcnow(), budget_seconds=RETENTION_BUDGET_SECONDS)
        except (RedisError, SQLAlchemyError, OSError):
            raise
        except Exception:
            log.exception("retention sweep failed; tried again in %.0f s", RETENTION_IDLE_SECONDS)
            self.next_sweep = time.monotonic() + RETENTION_IDLE_SECONDS
            return
        if report.rows:
            log.info("retention: deleted %d ledger rows, %d workflow runs, %d audit rows", report.runs,
                     report.workflow_runs, report.changes)
        self.next_sweep = time.monotonic() + (0.0 if report.rows else RETENTION_IDLE_SECONDS)

    def _maintain(self) -> None:
        if time.monotonic() - self.last_reconcile >= self.settings.reconcile_seconds or not self.last_reconcile:
            self.reconcile()
            return
        if self.changed:
            self.apply_changes()
        if self.next_resume is not None and self.next_resume <= self._utcnow():
            self.resume_due()

    def _until_next_due(self) -> float:
        """Seconds until the earliest timer or auto-resume, capped by the poll interval (and shorter while the
        retention sweep has old rows left)."""
        first = self.connection.zrange(SCHEDULED_SET, 0, 0, withscores=True)
        wait = RETENTION_BACKLOG_WAIT if self.next_sweep <= time.monotonic() else self.settings.poll_seconds
        if first:
            wait = min(wait, max(0.0, first[0][1] - self._clock()))
        if self.next_resume is not None:
            wait = min(wait, max(0.0, (self.next_resume - self._utcnow()).total_seconds()))
        return wait

    def _wait(self, pubsub: PubSub, timeout: float) -> None:
        """Sleep up to ``timeout``, waking early on any notification; collect changed schedule ids."""
        deadline = time.monotonic() + timeout
        try:
            message = pubsub.get_message(timeout=max(0.0, timeout))
            while message is not None:
                self._note(message)
                message = pubsub.get_message(timeout=0)
        except (RedisError, OSError) as exc:
            log.warning("wake channel failed: %s", exc)
            time.sleep(max(0.0, deadline - time.monotonic()))

    def _note(self, message: dict[str, Any]) -> None:
        woken = parse(message.get("data"))
        if isinstance(woken, ScheduleChanged):
            self.changed.add(woken.schedule_id)

    def _install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("scheduler %s stopping on signal %d", self.name, signum)
            self.stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

    def _shutdown(self, pubsub: PubSub) -> None:
        try:
            pubsub.close()
            self.lease.release()
            self.register_death()
        except (RedisError, OSError) as exc:
            log.warning("unclean scheduler shutdown: %s", exc)
