"""The retention sweep: how fast the leading scheduler deletes a backlog of old runs, and what the API feels.

Prints figures; asserts nothing. Usage::

    python bench/retention.py --database sqlite --rows 1000000
    python bench/retention.py --database postgres --rows 1000000 --clients 4 --baseline-seconds 20

From one fresh database and a redis-server of the run's own: one user (with a real API
token) owns ten schedules, under which ``--rows`` ended ledger rows older than
RQFLOW_RUN_RETENTION_DAYS are bulk-loaded (one in a hundred with a workflow run and a node
run), then analysed as autovacuum would. A real ``rqflow web`` serves ``--clients`` threads
that read back to back: a page of one schedule's runs, a page of schedules, and ``/metrics``,
in turn.

- **no sweep** (the peer): the same clients for ``--baseline-seconds`` with no scheduler.
- **sweep**: a real ``rqflow scheduler`` is started and sweeps (RQFLOW_RETENTION_BATCH_SIZE
  rows a transaction, its default unless given) while the clients read, until only the ten
  young rows are left; the rate is the rows deleted over that time, from the scheduler's
  start (its lease and first reconcile included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.api_latency import start_web
from bench.common import add_schedules, analyze, fresh_database, machine, own_redis, percentile, print_table
from rqflow.db import get_sessionmaker
from rqflow.models import Schedule, ScheduleRun, utcnow
from rqflow.services.users import create_user
from tests.bulk_ledger import load_old_runs
from tests.helpers import free_port

YOUNG = 10


@dataclass
class Readers:
    """Client threads reading the API back to back until stopped; every latency and status kept."""

    base: str
    token: str
    schedule_id: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._read, daemon=True) for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _read(self) -> None:
        paths = [f"/api/v1/schedules/{self.schedule_id}/runs?limit=50", "/api/v1/schedules?limit=10", "/metrics"]
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=60) as http:
            while not self.stopping.is_set():
                for path in paths:
                    started = time.perf_counter()
                    try:
                        ok = http.get(path).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.latencies.append(time.perf_counter() - started)
                    self.errors += not ok


def fill(url: str, rows: int) -> tuple[str, str]:
    """The account and its old rows; its token and the id of the schedule whose runs the clients page through."""
    with get_sessionmaker(url)() as db:
        user, token = create_user(db=db, name="bench-retention")
        db.commit()
        user_id = user.id
    ids = add_schedules(url, 10, user_id=user_id, first_run=utcnow() + timedelta(days=1))
    with get_sessionmaker(url)() as db:
        workflow_id = db.scalar(select(Schedule.workflow_id).limit(1))
    now = utcnow()
    load_old_runs(url, ids, rows, before=now - timedelta(days=31), workflow_id=workflow_id,
                  with_workflow_runs=rows // 100)
    load_old_runs(url, ids, YOUNG, before=now - timedelta(days=1))
    analyze(url)
    return token, ids[0]


def left(url: str) -> int:
    with get_sessionmaker(url)() as db:
        return db.scalar(select(func.count()).select_from(ScheduleRun)) or 0


def start_scheduler(db_url: str, redis_url: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RQFLOW_DATABASE_URL": db_url, "RQFLOW_REDIS_URL": redis_url, "RQFLOW_LOG_LEVEL": "WARNING"}
    log = (workdir / "scheduler.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "rqflow.cli", "scheduler"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def row(case: str, readers: Readers, seconds: float, rows: int | None) -> list[object]:
    lat = sorted(readers.latencies)
    rate = f"{rows / seconds:,.0f}" if rows else "–"
    return [case, f"{rows:,}" if rows else "–", f"{seconds:.1f}", rate, f"{len(lat):,}",
            f"{percentile(lat, 0.5) * 1000:.1f}", f"{percentile(lat, 0.99) * 1000:.1f}", f"{lat[-1] * 1000:.0f}",
            readers.errors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, own_redis(Path(tmp)) as redis, \
            fresh_database(args.database, Path(tmp)) as url:
        started = time.perf_counter()
        token, schedule_id = fill(url, args.rows)
        print(f"loaded {args.rows:,} old rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        port = free_port()
        web = start_web(url, redis.url, port)
        base = f"http://127.0.0.1:{port}"
        try:
            baseline = Readers(base, token, schedule_id, args.clients)
            baseline.start()
            time.sleep(args.baseline_seconds)
            baseline.stop()
            during = Readers(base, token, schedule_id, args.clients)
            during.start()
            started = time.perf_counter()
            scheduler = start_scheduler(url, redis.url, Path(tmp))
            while left(url) > YOUNG:
                time.sleep(0.5)
            took = time.perf_counter() - started
            during.stop()
            scheduler.terminate()
            scheduler.wait(timeout=30)
        finally:
            web.terminate()
            web.wait(timeout=30)
    print_table(
        f"Retention sweep of {args.rows:,} old runs, {args.database}, {args.clients} API clients ({machine()})",
        ["case", "rows deleted", "seconds", "rows/s", "requests", "p50 ms", "p99 ms", "max ms", "errors"],
        [row("API alone (no sweep)", baseline, args.baseline_seconds, None),
         row("API during the sweep", during, took, args.rows)])


if __name__ == "__main__":
    main()
