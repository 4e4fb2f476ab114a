"""A worker's job process killed mid-run, and a whole worker killed mid-run: the run ends ``failed``, never stuck.

rqflow has no retry policy of its own: a run whose process dies ends ``failed``
(reason ``abandoned``, or the lost-run sweep's error), visible in the ledger, in
the schedule's ``error_count`` and in the workflow run history, and the
schedule's slot is handed over. Three paths, one test each:

- **the job process (RQ's work horse) SIGKILLed**: the worker sees it die and
  its ``work_horse_killed_handler`` fails the run at once;
- **the whole worker SIGKILLed** (parent and work horse, as when a machine or a
  container dies): only RQ's ``StartedJobRegistry`` can tell, once the job's
  execution heartbeat expires (about 60 to 90 s); its cleanup calls the job's
  ``on_failure`` callback with ``AbandonedJobError``. The leading scheduler runs
  that cleanup on every reconcile pass. The CI variant fast-forwards the clock of
  that cleanup (it runs it itself, in a separate process, "as of" the instant the
  registry says the execution expires); ``make chaos`` (``RQFLOW_CHAOS_LONG=1``)
  waits for the scheduler to do it in real time;
- **the backstop**: with a job timeout shorter than RQ's heartbeat grace, the
  scheduler's lost-run sweep fails the run first, within job timeout +
  ``STALE_MARGIN`` + one reconcile period of its start.

Each workflow run takes 2 s (``slow_record``, which writes its side effect only at
the end), on a 3-second interval, so a kill lands mid-run.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from rq.registry import StartedJobRegistry

from rqflow.jobs.failures import ABANDONED_ERROR
from rqflow.models import ScheduleRun, utcnow
from rqflow.services.occurrences import ABANDONED_REASON
from rqflow.services.overlap import STALE_MARGIN
from rqflow.services.upkeep import LOST_RUN_ERROR
from tests.e2e.conftest import RECONCILE_SECONDS, REPO_ROOT, LiveSchedule, Proc, Stack
from tests.e2e.faults import chaos
from tests.e2e.faults.ledger import (
    RowCheck,
    close_books,
    command,
    database_label,
    ran_or_missed,
    report,
    skipped_by_overlap,
    spread,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

SLOW = "tests.e2e.side_effects:slow_record"
RUN_SECONDS = 2.0
INTERVAL = 3
HORSE_KILLS = chaos.scaled(5, least=2, most=20)
ABANDON_KILLS = chaos.scaled(25)
SWEEP_KILLS = chaos.scaled(10)
KILLED = "the worker's job process was killed (signal 9)"
SHORT_JOB_TIMEOUT = 3


def start(stack: Stack, *, job_timeout: int | None = None) -> tuple[Proc, Proc, LiveSchedule]:
    """A scheduler, a worker and a slow schedule; the job timeout set for every process if given."""
    if job_timeout is not None:
        stack.env["RQFLOW_JOB_TIMEOUT_SECONDS"] = str(job_timeout)
    scheduler, worker = stack.start_scheduler(), stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers()
    schedule = stack.create_interval_schedule(INTERVAL, target=SLOW, target_kwargs={"seconds": RUN_SECONDS})
    return scheduler, worker, schedule


def catch_running(stack: Stack, schedule: LiveSchedule, worker: Proc, rng: random.Random) -> tuple[ScheduleRun, int]:
    """Wait for a run that has just started, then a random moment into it; return it and its job process's pid."""

    def fresh() -> tuple[ScheduleRun, int] | None:
        stack.assert_running()
        running = [r for r in stack.runs(schedule.id) if r.status == "running" and r.started_at is not None
                   and utcnow() - r.started_at < timedelta(seconds=0.5)]
        horses = chaos.children(worker.pid)
        return (running[0], horses[0]) if running and len(horses) == 1 else None

    run, horse = wait_for(fresh, timeout=INTERVAL * 4 + 10, interval=0.05, what="a run to start")
    time.sleep(rng.uniform(0.1, 0.8))  # a random moment inside the run's 2 s
    return run, horse


def final(stack: Stack, schedule: LiveSchedule, run_id: int, timeout: float) -> ScheduleRun:
    """Wait until the ledger row ``run_id`` is final; return it."""

    def done() -> ScheduleRun | None:
        stack.assert_running()
        [run] = [r for r in stack.runs(schedule.id) if r.id == run_id]
        return run if run.status not in {"running", "enqueued", "waiting"} else None

    return wait_for(done, timeout=timeout, interval=0.1, what=f"run {run_id} to end")


def failed_with(error: str, run_ids: list[int]) -> RowCheck:
    """The killed runs, and only they, failed, with ``error``."""
    return lambda run: run.id in run_ids and run.status == "failed" and run.error == error


def assert_history_closed(stack: Stack, schedule: LiveSchedule, dead: list[int], error: str) -> None:
    """The workflow runs the dead processes started ended failed too, and the schedule counted every death."""
    workflow_runs = [w for w in stack.workflow_runs(schedule.workflow_id) if w.schedule_run_id in dead]
    assert [w.status for w in workflow_runs] == ["failed"] * len(dead), [(w.id, w.status) for w in workflow_runs]
    assert all(w.error == error for w in workflow_runs)
    assert not [w for w in stack.workflow_runs(schedule.workflow_id) if w.status == "running"]
    assert stack.row(schedule.id).error_count == len(dead)


@pytest.mark.timeout(chaos.budget(120, 15, HORSE_KILLS))
def test_a_killed_job_process_fails_its_run_at_once(stack: Stack, database_url: str, rng: random.Random,
                                                    seed: int) -> None:
    began = time.monotonic()
    scheduler, worker, schedule = start(stack)
    dead: list[int] = []
    recoveries: list[float] = []
    for _ in range(HORSE_KILLS):
        run, horse = catch_running(stack, schedule, worker, rng)
        killed_at = utcnow()
        chaos.sigkill(horse)
        ended = final(stack, schedule, run.id, timeout=10)
        assert (ended.status, ended.reason, ended.error) == ("failed", ABANDONED_REASON, KILLED)
        assert ended.finished_at is not None
        recoveries.append((ended.finished_at - killed_at).total_seconds())
        dead.append(run.id)
    stack.wait_succeeded(schedule, 1, after=utcnow(), what="the schedule to run on after the kills")
    assert worker.alive(), "the worker survives its job process"

    stack.stop(scheduler)
    books, _runs = close_books(stack, schedule, allowed=[ran_or_missed, failed_with(KILLED, dead)],
                               stopped_at=utcnow())
    assert_history_closed(stack, schedule, dead, KILLED)
    database = database_label(database_url)
    report(
        scenario="a worker's job process killed mid-run", database=database,
        injected=f"SIGKILL of the work horse at a random moment of a 2 s run, {HORSE_KILLS} times",
        figures=books, faults=HORSE_KILLS, failed_as_killed=len(dead), seed=seed,
        recovery_seconds=spread(recoveries), recovery_measures="kill -> run failed",
        duration_seconds=round(time.monotonic() - began),
        command=command("test_worker_kills.py::test_a_killed_job_process_fails_its_run_at_once", database, seed,
                        chaos.kills()),
    )


def kill_whole_worker(stack: Stack, worker: Proc, horse: int) -> Proc:
    """SIGKILL the worker and its job process at once (a lost machine); start its replacement."""
    chaos.sigkill(horse)
    stack.kill(worker)
    return stack.start_worker()


def execution_expiry(stack: Stack, rq_job_id: str) -> float:
    """When RQ's StartedJobRegistry will consider the job's execution abandoned (epoch seconds)."""
    key = StartedJobRegistry(stack.queue, connection=stack.redis).key
    scores = [score for member, score in stack.redis.zrange(key, 0, -1, withscores=True)
              if member.decode().startswith(f"{rq_job_id}:")]
    assert len(scores) == 1, f"expected one execution of {rq_job_id} in {key}"
    return float(scores[0])


def next_reconcile(scheduler: Proc) -> None:
    """Wait until the scheduler has been through one more reconcile pass."""
    passes = scheduler.log().count("reconciled")
    wait_for(lambda: scheduler.log().count("reconciled") > passes, timeout=RECONCILE_SECONDS + 10,
             what="the next reconcile pass")


def sweep_as_of(stack: Stack, at: float) -> int:
    """Run RQ's abandoned-job cleanup as the scheduler does, in another process, as of ``at``."""
    code = ("import sys; from rqflow.broker.connection import get_redis; from rqflow.broker.callbacks import "
            "sweep_abandoned; print(sweep_abandoned(get_redis(), sys.argv[1], at=float(sys.argv[2])))")
    done = subprocess.run([sys.executable, "-c", code, stack.queue, str(at)], env=stack.env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(chaos.budget(150, 150 if chaos.long_variant() else 25, ABANDON_KILLS))
def test_a_killed_worker_abandons_its_run_through_the_failure_callback(
    stack: Stack, database_url: str, rng: random.Random, seed: int
) -> None:
    began = time.monotonic()
    scheduler, worker, schedule = start(stack)  # job timeout 600 s: the lost-run sweep cannot be what fails it
    dead: list[int] = []
    abandoned_after: list[float] = []
    recoveries: list[float] = []
    for _ in range(ABANDON_KILLS):
        run, horse = catch_running(stack, schedule, worker, rng)
        assert run.rq_job_id is not None
        killed_at = utcnow()
        worker = kill_whole_worker(stack, worker, horse)
        expiry = execution_expiry(stack, run.rq_job_id)
        abandoned_after.append(expiry - killed_at.timestamp())
        next_reconcile(scheduler)
        still = next(r for r in stack.runs(schedule.id) if r.id == run.id)
        assert still.status == "running", "nothing but RQ's abandoned-job cleanup should end it this early"
        if chaos.long_variant():  # the leading scheduler's reconcile pass runs the cleanup once the heartbeat expires
            wait = expiry - time.time() + RECONCILE_SECONDS + 15
            ended = final(stack, schedule, run.id, timeout=wait)
            assert ended.finished_at is not None
            recoveries.append((ended.finished_at - killed_at).total_seconds())
        else:  # fast-forward: the same cleanup, as of the instant the registry says the execution expires
            assert sweep_as_of(stack, expiry + 1) == 1
            ended = final(stack, schedule, run.id, timeout=5)
        assert (ended.status, ended.reason, ended.error) == ("failed", ABANDONED_REASON, ABANDONED_ERROR)
        dead.append(run.id)
    stack.wait_succeeded(schedule, 1, after=utcnow(), what="the schedule to run on with the replacement worker")

    stack.stop(scheduler)
    allowed = [ran_or_missed, skipped_by_overlap, failed_with(ABANDONED_ERROR, dead)]
    books, _runs = close_books(stack, schedule, allowed=allowed, stopped_at=utcnow())
    assert_history_closed(stack, schedule, dead, ABANDONED_ERROR)
    database = database_label(database_url)
    timing = ("real time: the scheduler's reconcile pass ran RQ's cleanup" if chaos.long_variant()
              else "fast-forwarded: RQ's cleanup run as of the execution's expiry")
    report(
        scenario="a whole worker killed mid-run (abandoned job)", database=database,
        injected=(f"SIGKILL of the worker and its work horse at a random moment of a 2 s run, replacement "
                  f"started; {ABANDON_KILLS} times; {timing}"),
        figures=books, faults=ABANDON_KILLS, failed_as_abandoned=len(dead), seed=seed,
        rq_declares_abandoned_after_seconds=spread(abandoned_after), recovery_seconds=spread(recoveries),
        recovery_measures="kill -> run failed (real time only)", duration_seconds=round(time.monotonic() - began),
        command=command("test_worker_kills.py::test_a_killed_worker_abandons_its_run_through_the_failure_callback",
                        database, seed, chaos.kills()) + (" (RQFLOW_CHAOS_LONG=1 for real time)"),
    )


@pytest.mark.timeout(chaos.budget(120, 40, SWEEP_KILLS))
def test_a_lost_run_is_failed_within_the_job_timeout_and_one_reconcile_period(
    stack: Stack, database_url: str, rng: random.Random, seed: int
) -> None:
    began = time.monotonic()
    scheduler, worker, schedule = start(stack, job_timeout=SHORT_JOB_TIMEOUT)
    bound = SHORT_JOB_TIMEOUT + STALE_MARGIN.total_seconds() + RECONCILE_SECONDS
    dead: list[int] = []
    stuck_for: list[float] = []
    for _ in range(SWEEP_KILLS):
        run, horse = catch_running(stack, schedule, worker, rng)
        assert run.started_at is not None
        worker = kill_whole_worker(stack, worker, horse)
        ended = final(stack, schedule, run.id, timeout=bound + 15)
        assert (ended.status, ended.reason, ended.error) == ("failed", ABANDONED_REASON, LOST_RUN_ERROR)
        assert ended.finished_at is not None
        stuck_for.append((ended.finished_at - run.started_at).total_seconds())
        assert stuck_for[-1] <= bound + 1.5, f"run {run.id} stayed running {stuck_for[-1]:.1f} s (bound {bound} s)"
        dead.append(run.id)
    stack.wait_succeeded(schedule, 1, after=utcnow(), what="the schedule to run on with the replacement worker")

    stack.stop(scheduler)
    allowed = [ran_or_missed, skipped_by_overlap, failed_with(LOST_RUN_ERROR, dead)]
    books, _runs = close_books(stack, schedule, allowed=allowed, stopped_at=utcnow())
    assert_history_closed(stack, schedule, dead, LOST_RUN_ERROR)
    database = database_label(database_url)
    report(
        scenario="a whole worker killed, the lost-run sweep as backstop", database=database,
        injected=(f"SIGKILL of the worker and its work horse mid-run with a {SHORT_JOB_TIMEOUT} s job timeout "
                  f"(shorter than RQ's heartbeat grace); {SWEEP_KILLS} times"),
        figures=books, faults=SWEEP_KILLS, failed_as_lost=len(dead), seed=seed,
        bound_seconds=bound, recovery_seconds=spread(stuck_for), recovery_measures="run start -> run failed",
        duration_seconds=round(time.monotonic() - began),
        command=command("test_worker_kills.py::test_a_lost_run_is_failed_within_the_job_timeout_and_one_reconcile_"
                        "period", database, seed, chaos.kills()),
    )
