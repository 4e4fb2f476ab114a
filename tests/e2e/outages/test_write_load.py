"""Many processes writing at once: no client ever sees "database is locked", and the ledger stays exact.

Eight processes write to the database for ``RQFLOW_LOAD_SECONDS`` (20 s by default): the
scheduler, four workers (their jobs fork; each firing claims its occurrence, writes the
workflow run, its node runs, a side effect and the outcome) and three ``rqflow web``
processes. Three client processes (two threads each, one client per web process) hammer
the API meanwhile: create a schedule, edit it, read it, list, pause, resume, read its
runs, delete it, over and over. Twelve 1-second interval schedules fire throughout.

What must hold, on SQLite above all (its single write lock is what the processes contend
for) and on PostgreSQL alike:

- no client-visible error: no answer of 500 or more, no transport error, no
  "database is locked" in any answer or in any process's log;
- the processes all stay up;
- the ledger of every firing schedule: none lost, none duplicated, none stuck, none
  failed; an occurrence claimed too late under load may be caught up by the default
  ``latest`` policy (``missed``), or ``skipped`` by the default overlap policy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, Stack
from tests.e2e.outages.conftest import LOAD_SECONDS
from tests.e2e.outages.ledger import Figures, check_ledger, database_label, report
from tests.e2e.outages.probe import api_user

pytestmark = pytest.mark.e2e

WORKERS = 4
WEBS = 3
CLIENT_THREADS = 2
FIRING_SCHEDULES = 8
LOCKED = "database is locked"


def start_clients(stack: Stack, bases: list[str], token: str, workflow_id: int,
                  out_dir: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """One client process per web process, each stopping by itself after LOAD_SECONDS."""
    clients = []
    for number, base in enumerate(bases, start=1):
        out = out_dir / f"client-{number}.json"
        log = (stack.log_dir / f"client-{number}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.outages.load_client", "--base", base, "--token", token,
             "--workflow-id", str(workflow_id), "--seconds", str(LOAD_SECONDS), "--threads", str(CLIENT_THREADS),
             "--out", str(out)],
            cwd=REPO_ROOT, env=stack.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        clients.append((process, out))
    return clients


def test_eight_processes_writing_at_once(stack: Stack, database_url: str, tmp_path: Path) -> None:
    stack.start_scheduler()
    for _ in range(WORKERS):
        stack.start_worker()
    bases = [stack.start_web() for _ in range(WEBS)]
    stack.wait_leader()
    stack.wait_workers(WORKERS)
    schedules = [stack.create_interval_schedule(1) for _ in range(FIRING_SCHEDULES)]
    for schedule in schedules:
        stack.wait_succeeded(schedule, 1)
    user = api_user(stack)

    started = time.monotonic()
    clients = start_clients(stack, bases, user.token, schedules[0].workflow_id, tmp_path)
    for process, _out in clients:
        while process.poll() is None:
            stack.assert_running()
            assert time.monotonic() - started < LOAD_SECONDS + 120, "a load client did not stop by itself"
            time.sleep(0.5)
        assert process.returncode == 0, f"a load client failed:\n{stack.logs()}"
    load_seconds = time.monotonic() - started
    summaries = [json.loads(out.read_text()) for _process, out in clients]
    stack.assert_running()

    failures = [failure for summary in summaries for failure in summary["failures"]]
    assert not failures, f"client-visible errors under load: {failures[:10]} ({len(failures)} in all)"
    requests = sum(summary["requests"] for summary in summaries)
    assert requests >= 50, f"the clients made only {requests} requests"
    locked = [proc.name for proc in stack.procs if LOCKED in proc.log().lower()]
    assert not locked, f"'{LOCKED}' in the logs of {locked}"

    for proc in [p for p in stack.procs if p.name.startswith("scheduler")]:
        stack.stop(proc)
    totals = Figures()
    for schedule in schedules:
        runs = stack.quiesce(schedule.id, schedule.interval, timeout=60)
        totals.add(check_ledger(stack, schedule, runs, policy="latest", allowed={"succeeded", "missed", "skipped"}))
    statuses: Counter[str] = Counter()
    for summary in summaries:
        for key, count in summary["statuses"].items():
            statuses[key.rpartition(" ")[2]] += count
    report(
        scenario="write load", database=database_label(database_url),
        injected=(f"{WORKERS} workers + {WEBS} web + scheduler writing, {len(clients)} API client processes "
                  f"x {CLIENT_THREADS} threads, {FIRING_SCHEDULES} schedules every 1 s, for {LOAD_SECONDS:g} s"),
        figures=totals, load_seconds=round(load_seconds, 1), api_requests=requests,
        api_requests_per_s=round(requests / load_seconds, 1), api_statuses=dict(sorted(statuses.items())),
        api_slowest_answer_s=max(summary["slowest_s"] for summary in summaries), client_visible_errors=0,
        database_is_locked_in_logs=0,
    )
