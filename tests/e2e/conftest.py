"""End-to-end fixtures: real ``rqflow`` processes over a Redis of the test's own and a real database.

``stack`` starts nothing by itself; a test starts the processes it needs
(``stack.start_scheduler()``, ``stack.start_worker()``, ``stack.start_web()``),
each with stdout and stderr in a log file under ``tmp_path``. Teardown always
stops every process (SIGTERM, then SIGKILL of its process group after a
timeout), and a failing test gets every log attached to its report.

The database is the parametrized ``database_url`` (SQLite and PostgreSQL) when
the test asks for it, else a fresh migrated SQLite file of the test's own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from rqflow.broker.lease import LEASE_KEY
from rqflow.broker.signals import RedisSignals
from rqflow.broker.timers import armed
from rqflow.db import get_engine, session_scope
from rqflow.job_ids import fire_job_id
from rqflow.migrations import upgrade
from rqflow.models import Schedule, ScheduleRun, UserProfile, WorkflowRun, utcnow
from rqflow.schemas.schedule import ScheduleCreate
from rqflow.schemas.workflow import WorkflowCreate
from rqflow.services import schedules as schedule_service
from rqflow.services.users import create_user
from rqflow.services.workflows import create_workflow
from rqflow.settings import get_settings
from tests.conftest import TEST_CALLABLES, TEST_EGRESS_ALLOW
from tests.e2e import side_effects
from tests.helpers import free_port, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
SIDE_EFFECT_CALLABLE = "tests.e2e.side_effects:record"
STOP_TIMEOUT_SECONDS = 10.0
# The settings every process of a test runs with: fast enough to see many occurrences in seconds.
LEASE_SECONDS = 3.0
RECONCILE_SECONDS = 3.0
POLL_SECONDS = 1.0
FINAL_STATUSES = {"succeeded", "failed", "skipped", "missed"}


def rqflow_command() -> str:
    """The ``rqflow`` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "rqflow"
    if beside.exists():
        return str(beside)
    found = shutil.which("rqflow")
    if found is None:
        raise RuntimeError("the rqflow console script is not installed (pip install -e .)")
    return found


def workflow_body(name: str = "e2e", target: str = SIDE_EFFECT_CALLABLE,
                  kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workflow whose trigger feeds a python_call (``target``, called with ``kwargs``) writing one side-effect row."""
    return {
        "name": name,
        "nodes": [
            {"key": "trigger", "component_type": "trigger_schedule", "config": {}},
            {"key": "effect", "component_type": "python_call",
             "config": {"callable": target, "kwargs": kwargs if kwargs is not None else {"source": "e2e"}}},
        ],
        "edges": [{"source": "trigger", "target": "effect"}],
    }


@dataclass
class Proc:
    """One started process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")


@dataclass
class LiveSchedule:
    """What a test needs to know about a schedule it created."""

    id: str
    workflow_id: int
    interval: timedelta
    first: datetime


class Stack:
    """The processes, Redis and database of one end-to-end test."""

    def __init__(self, *, database_url: str, redis_url: str, tmp_path: Path) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.redis = Redis.from_url(redis_url)
        self.queue = f"e2e-{uuid.uuid4().hex[:8]}"
        self.log_dir = tmp_path / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self.env = self._environment()
        # Reads go through a plain engine: on SQLite, rqflow's engine takes the write lock
        # (BEGIN IMMEDIATE) even to read, and polling with it would slow the workers down.
        connect_args = {"timeout": 30} if database_url.startswith("sqlite") else {}
        self.observer: Engine = create_engine(get_settings().database_url, connect_args=connect_args,
                                              poolclass=NullPool)
        self.user_id: int | None = None

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "RQFLOW_DATABASE_URL": self.database_url,
            "RQFLOW_REDIS_URL": self.redis_url,
            "RQFLOW_QUEUE": self.queue,
            "RQFLOW_MIN_INTERVAL_SECONDS": "1",
            "RQFLOW_PYTHON_CALLABLES": TEST_CALLABLES,
            "RQFLOW_EGRESS_ALLOW": TEST_EGRESS_ALLOW,
            "RQFLOW_RECONCILE_SECONDS": str(RECONCILE_SECONDS),
            "RQFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
            "RQFLOW_POLL_SECONDS": str(POLL_SECONDS),
            "RQFLOW_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
        })
        return env

    # -- processes ------------------------------------------------------------------------------

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        """Start ``rqflow <args>`` from the repository root, output to ``logs/<name>-<n>.log``.

        ``env`` adds to (or overrides) the stack's environment for this process only.
        """
        number = sum(1 for p in self.procs if p.name.rpartition("-")[0] == name) + 1
        log_path = self.log_dir / f"{name}-{number}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [rqflow_command(), *args], cwd=REPO_ROOT, env={**self.env, **(env or {})}, stdout=log_file,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        proc = Proc(name=f"{name}-{number}", process=process, log_path=log_path, log_file=log_file)
        self.procs.append(proc)
        return proc

    def start_scheduler(self, env: dict[str, str] | None = None) -> Proc:
        return self.start("scheduler", "scheduler", env=env)

    def start_worker(self, env: dict[str, str] | None = None) -> Proc:
        return self.start("worker", "worker", env=env)

    def start_all(self, *, web_env: dict[str, str] | None = None) -> str:
        """Start a scheduler, a worker and web; return web's base URL once the scheduler leads and the worker
        listens."""
        self.start_scheduler()
        self.start_worker()
        base = self.start_web(env=web_env)
        self.wait_leader()
        self.wait_workers()
        return base

    def start_web(self, env: dict[str, str] | None = None) -> str:
        """Start ``rqflow web`` on a free port; return its base URL once it answers /readyz."""
        port = free_port()
        proc = self.start("web", "web", "--port", str(port), env=env)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert proc.alive(), f"rqflow web exited early:\n{proc.log()}"
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=30, interval=0.1, what="rqflow web to answer /readyz")
        return base

    def kill(self, proc: Proc) -> None:
        """SIGKILL, no chance to clean up (the lease is left to expire)."""
        if proc.alive():
            proc.process.send_signal(signal.SIGKILL)
        proc.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self, proc: Proc, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM, then SIGKILL of the whole process group if it does not exit in time."""
        if proc.alive():
            proc.process.send_signal(signal.SIGTERM)
            try:
                proc.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_group(proc)
                proc.process.wait(timeout=timeout)
        self._kill_group(proc)  # a forked work horse must not outlive its worker
        proc.log_file.close()

    @staticmethod
    def _kill_group(proc: Proc) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # start_new_session: the group id is the pid
        except (ProcessLookupError, PermissionError):
            pass

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if not proc.log_file.closed:
                self.stop(proc)

    def logs(self) -> str:
        parts = []
        for proc in self.procs:
            state = "running" if proc.alive() else f"exit {proc.process.returncode}"
            parts.append(f"===== {proc.name} (pid {proc.pid}, {state}) {proc.log_path} =====\n{proc.log()}")
        return "\n".join(parts)

    # -- readiness ------------------------------------------------------------------------------

    def wait_leader(self, proc: Proc | None = None, timeout: float = 30) -> None:
        """Wait until a scheduler (``proc`` if given, judged by its log) holds the lease."""

        def leading() -> bool:
            for p in [proc] if proc else [p for p in self.procs if p.name.startswith("scheduler")]:
                assert p.alive() or p is not proc, f"{p.name} exited:\n{p.log()}"
            if proc is not None:
                return "is now the leader" in proc.log()
            return bool(self.redis.exists(LEASE_KEY))

        wait_for(leading, timeout=timeout, interval=0.1, what="a scheduler to take the lease")

    def wait_workers(self, count: int = 1, timeout: float = 30) -> None:
        """Wait until ``count`` RQ workers have registered in this Redis."""
        wait_for(lambda: Worker.count(connection=self.redis) >= count, timeout=timeout, interval=0.1,
                 what=f"{count} RQ worker(s) to register")

    # -- data, through the services ---------------------------------------------------------------

    def user(self) -> int:
        if self.user_id is None:
            with session_scope(self.database_url) as db:
                user, _token = create_user(db=db, name=f"e2e-{uuid.uuid4().hex[:8]}")
                db.flush()
                self.user_id = user.id
        return self.user_id

    def create_once_schedule(self, workflow: dict[str, Any], *, in_seconds: float = 2, **fields: Any) -> str:
        """A workflow (``workflow``, a WorkflowCreate body) and a one-time schedule on it ``in_seconds`` from
        now (``fields`` go into ScheduleCreate); the schedule's id."""
        with session_scope(self.database_url) as db:
            owner = db.get(UserProfile, self.user())
            assert owner is not None
            stored = create_workflow(db=db, owner=owner, data=WorkflowCreate.model_validate(workflow))
            db.flush()
            data = ScheduleCreate.model_validate({"name": "once", "workflow_id": stored.id, "schedule_type": "once",
                                                  "run_at": utcnow() + timedelta(seconds=in_seconds), **fields})
            return schedule_service.create_schedule(db=db, owner=owner, data=data, now=utcnow(),
                                                    signals=RedisSignals(self.redis)).id

    def create_interval_schedule(self, seconds: int, *, target: str = SIDE_EFFECT_CALLABLE,
                                 target_kwargs: dict[str, Any] | None = None, **fields: Any) -> LiveSchedule:
        """A workflow (trigger -> side effect) and an interval schedule on it, created now.

        ``target`` is the workflow's python_call (called with ``target_kwargs``, e.g. ``{"seconds": 2}``
        for ``slow_record``); ``fields`` go into :class:`ScheduleCreate` as they are
        (``catchup_policy="all"``, ``overlap_policy="buffer_one"``, ...).
        """
        with session_scope(self.database_url) as db:
            owner = db.get(UserProfile, self.user())
            assert owner is not None
            body = workflow_body(target=target, kwargs=target_kwargs)
            workflow = create_workflow(db=db, owner=owner, data=WorkflowCreate.model_validate(body))
            db.flush()
            data = ScheduleCreate.model_validate({
                "name": f"every-{seconds}s", "workflow_id": workflow.id,
                "schedule_type": "interval", "interval_seconds": seconds, **fields,
            })
            job = schedule_service.create_schedule(db=db, owner=owner, data=data, now=utcnow(),
                                                   signals=RedisSignals(self.redis))
            assert job.next_run_at is not None
            schedule = LiveSchedule(id=job.id, workflow_id=workflow.id, interval=timedelta(seconds=seconds),
                                first=job.next_run_at)
        return schedule

    # -- observations ---------------------------------------------------------------------------

    def runs(self, schedule_id: str) -> list[ScheduleRun]:
        """The schedule's ledger rows of kind ``schedule``, by occurrence."""
        with Session(self.observer) as db:
            query = (select(ScheduleRun)
                     .where(ScheduleRun.scheduled_job_id == schedule_id, ScheduleRun.trigger_kind == "schedule")
                     .order_by(ScheduleRun.scheduled_for, ScheduleRun.id))
            return list(db.scalars(query))

    def row(self, schedule_id: str) -> Schedule:
        with Session(self.observer) as db:
            row = db.get(Schedule, schedule_id)
            assert row is not None
            return row

    def workflow_runs(self, workflow_id: int) -> list[WorkflowRun]:
        with Session(self.observer) as db:
            return list(db.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == workflow_id)))

    def effects(self, schedule_id: str) -> list[tuple[datetime, int]]:
        """``(scheduled_for, pid)`` of every side effect the workflow produced for this schedule."""
        return side_effects.recorded(self.database_url, schedule_id)

    def succeeded(self, schedule_id: str, *, after: datetime | None = None) -> list[ScheduleRun]:
        return [r for r in self.runs(schedule_id)
                if r.status == "succeeded" and (after is None or r.scheduled_for > after)]

    def wait_succeeded(self, schedule: LiveSchedule, count: int, *, after: datetime | None = None,
                       timeout: float | None = None, what: str = "") -> list[ScheduleRun]:
        """Wait until ``count`` occurrences (after ``after``) have succeeded; check processes stay up."""
        budget = timeout if timeout is not None else count * schedule.interval.total_seconds() + 20

        def enough() -> list[ScheduleRun]:
            self.assert_running()
            done = self.succeeded(schedule.id, after=after)
            return done if len(done) >= count else []

        return wait_for(enough, timeout=budget, interval=0.25,
                        what=what or f"{count} succeeded occurrences of {schedule.id}")

    def quiesce(self, schedule_id: str, interval: timedelta, timeout: float = 30) -> list[ScheduleRun]:
        """With every scheduler stopped, wait until nothing of the schedule is in flight; return its ledger.

        Quiet means: every ledger row is final, ``next_run_at`` is the occurrence right after the
        last row (every claim moves it to the first occurrence without a row), and that
        occurrence's timer sits in rq-scheduler's set, where no stopped scheduler will move it.
        A job already on the queue, or a claim still running, would break one of the three.
        """
        assert not any(p.alive() for p in self.procs if p.name.startswith("scheduler")), "stop schedulers first"

        def quiet() -> list[ScheduleRun]:
            self.assert_running()
            runs = self.runs(schedule_id)
            row = self.row(schedule_id)
            if not runs or row.next_run_at is None or any(r.status not in FINAL_STATUSES for r in runs):
                return []
            if row.next_run_at != runs[-1].scheduled_for + interval:
                return []
            return runs if fire_job_id(schedule_id, row.next_run_at) in armed(self.redis) else []

        return wait_for(quiet, timeout=timeout, interval=0.25, what="the schedule to be quiet (nothing in flight)")

    def assert_running(self) -> None:
        """Every process not deliberately stopped is still alive."""
        for proc in self.procs:
            if not proc.log_file.closed and proc.process.returncode is None:
                assert proc.alive(), f"{proc.name} exited with {proc.process.returncode}:\n{proc.log()}"

    def close(self) -> None:
        self.stop_all()
        self.observer.dispose()
        self.redis.close()


# -- checks shared by the scenarios -----------------------------------------------------------------


def assert_contiguous(runs: list[ScheduleRun], interval: timedelta) -> None:
    """One ledger row per occurrence, consecutive occurrences exactly one interval apart."""
    instants = [r.scheduled_for for r in runs]
    assert len(instants) == len(set(instants)), f"duplicate ledger rows: {instants}"
    gaps = [(a, b) for a, b in itertools.pairwise(instants) if b - a != interval]
    assert not gaps, f"occurrences not {interval} apart (lost or extra occurrences): {gaps}"


def assert_effects_once(effects: list[tuple[datetime, int]], runs: list[ScheduleRun]) -> None:
    """Every succeeded occurrence produced exactly one side effect, and nothing else produced one."""
    instants = [when for when, _pid in effects]
    duplicates = sorted({when for when in instants if instants.count(when) > 1})
    assert not duplicates, f"side effect ran more than once for {duplicates}: {effects}"
    succeeded = {r.scheduled_for for r in runs if r.status == "succeeded"}
    assert set(instants) == succeeded, (
        f"side effects {sorted(set(instants) - succeeded)} without a succeeded run; "
        f"succeeded runs {sorted(succeeded - set(instants))} without a side effect"
    )


def settle_and_check(stack: Stack, schedule: LiveSchedule) -> list[ScheduleRun]:
    """With no scheduler left, wait until nothing is in flight and check the ledger end to end.

    Every occurrence from the first has one row, each ``succeeded`` or ``missed``, and every
    succeeded one produced exactly one side effect.
    """
    runs = stack.quiesce(schedule.id, schedule.interval)
    assert runs[0].scheduled_for == schedule.first
    assert_contiguous(runs, schedule.interval)
    statuses = Counter(r.status for r in runs)
    assert set(statuses) <= {"succeeded", "missed"}, [(r.scheduled_for, r.status, r.reason) for r in runs]
    assert_effects_once(stack.effects(schedule.id), runs)
    print(f"\n{dict(statuses)}; {lateness_figures([r for r in runs if r.status == 'succeeded'])}")
    return runs


def lateness_figures(runs: list[ScheduleRun]) -> str:
    """p50 and max of started_at - scheduled_for over the runs that started."""
    late = sorted((r.started_at - r.scheduled_for).total_seconds() for r in runs if r.started_at is not None)
    if not late:
        return "lateness: no run started"
    return (f"lateness over {len(late)} runs: p50 {statistics.median(late) * 1000:.0f} ms, "
            f"max {late[-1] * 1000:.0f} ms")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite file of this test's own."""
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    upgrade(url)
    yield url
    get_engine(url).dispose()


@pytest.fixture
def e2e_database(request: pytest.FixtureRequest) -> str:
    """The parametrized ``database_url`` if the test asks for it, else a fresh SQLite file."""
    if "database_url" in request.fixturenames:
        return str(request.getfixturevalue("database_url"))
    return str(request.getfixturevalue("fresh_sqlite"))


@pytest.fixture
def stack(e2e_database: str, own_redis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The test's processes (started by the test), stopped in teardown whatever happens."""
    for key, value in {
        "RQFLOW_DATABASE_URL": e2e_database, "RQFLOW_REDIS_URL": own_redis, "RQFLOW_MIN_INTERVAL_SECONDS": "1",
        "RQFLOW_PYTHON_CALLABLES": TEST_CALLABLES, "RQFLOW_EGRESS_ALLOW": TEST_EGRESS_ALLOW,
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    side_effects.ensure_table(e2e_database)
    stack = Stack(database_url=e2e_database, redis_url=own_redis, tmp_path=tmp_path)
    monkeypatch.setenv("RQFLOW_QUEUE", stack.queue)
    get_settings.cache_clear()
    try:
        yield stack
    finally:
        stack.close()
        side_effects.drop_table(e2e_database)
        get_settings.cache_clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach every process log to the report of a failing end-to-end test."""
    report = yield
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(stack, Stack):
        report.sections.append(("rqflow process logs", stack.logs()))
    return report


__all__ = ["Schedule", "Stack", "assert_contiguous", "assert_effects_once", "lateness_figures", "settle_and_check"]
