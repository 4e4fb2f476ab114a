"""API latency: create a schedule, and list 100 of a user's 100,000, at 1 and at 16 concurrent clients.

Prints figures; asserts nothing. Usage::

    python bench/api_latency.py --database sqlite
    python bench/api_latency.py --database postgres --count 100000 --requests 200 --clients 16 --per-client 50

From one fresh database and a redis-server of the run's own: one user (made by
``rqflow.services.users.create_user``, as ``rqflow user create`` does, so the API
token is real) owns ``--count`` active interval schedules, inserted in bulk.
Then a real ``rqflow web`` process (uvicorn, one process, as ``python -m
rqflow.cli web`` starts it) serves the API on a free port, and ``httpx`` clients
(one thread and one ``httpx.Client`` each, keep-alive) send requests back to back:

- ``list first page``: ``GET /api/v1/schedules?limit=100`` (offset 0);
- ``list deep page``: ``GET /api/v1/schedules?limit=100&offset=<count - 100>``
  (the API pages by ``limit`` / ``offset``; ``Page`` carries ``total``), with
  its own, smaller counts (``--deep-requests``, ``--deep-per-client``): on
  SQLite one such page takes about a second;
- ``create``: ``POST /api/v1/schedules``, an interval or a cron schedule
  (alternately), each with a unique name, on the user's workflow.

Each case runs at 1 client (``--requests`` requests) and at ``--clients``
clients (``--per-client`` requests each), after ``--warmup`` requests per
client. An answer other than 200 / 201 (e.g. 503 when a request waited
``RQFLOW_API_DATABASE_TIMEOUT_SECONDS``, default 10 s, for the database) or a
client timeout (30 s) is counted under ``errors``, its latency kept. Latency is per request, from send to the whole answer read; throughput
is the case's requests over its wall time. Lists run first, so every list sees
exactly ``--count`` rows (creates then add at most ``--requests + clients *
per-client`` more).

The web process gets ``RQFLOW_MAX_SCHEDULES_PER_USER=10000000``: the default
active-schedule limit (1000) would refuse every create for a user with 100,000
active schedules. Also ``RQFLOW_LOG_LEVEL=WARNING``, so request logs cost nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import add_schedules, analyze, fresh_database, machine, own_redis, percentile, print_table
from rqflow.db import get_sessionmaker
from rqflow.models import Workflow, WorkflowNode
from rqflow.services.users import create_user
from tests.helpers import free_port

MAX_SCHEDULES = 10_000_000
PAGE = 100


@dataclass(frozen=True)
class Account:
    """The benchmark user's API token and its workflow's id."""

    token: str
    workflow_id: int


@dataclass(frozen=True)
class Result:
    """One case: per-request latencies (seconds), wall time, and the answers that were not the expected status."""

    latencies: list[float]
    wall: float
    errors: int


def make_account(url: str, count: int) -> Account:
    """A user with a real API token and a workflow, owning ``count`` active schedules."""
    with get_sessionmaker(url)() as db:
        user, token = create_user(db=db, name="bench-api")
        workflow = Workflow(user_profile_id=user.id, name="bench",
                            nodes=[WorkflowNode(key="t", component_type="trigger_schedule", config={})])
        db.add(workflow)
        db.commit()
        user_id, workflow_id = user.id, workflow.id
    add_schedules(url, count, spread_seconds=3600, user_id=user_id, workflow_id=workflow_id)
    analyze(url)
    return Account(token, workflow_id)


def start_web(db_url: str, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    """A real ``rqflow web`` on ``port``, answering ``/livez``."""
    env = {**os.environ, "RQFLOW_DATABASE_URL": db_url, "RQFLOW_REDIS_URL": redis_url,
           "RQFLOW_LOG_LEVEL": "WARNING", "RQFLOW_MAX_SCHEDULES_PER_USER": str(MAX_SCHEDULES)}
    process = subprocess.Popen([sys.executable, "-m", "rqflow.cli", "web", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"web process exited or timed out: {process.stderr.read() if process.stderr else ''!r}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


Request = Callable[[httpx.Client], httpx.Response]


def run_case(base: str, token: str, request: Request, expected: int, clients: int, per_client: int,
             warmup: int) -> Result:
    """``clients`` threads, one keep-alive client each, sending ``per_client`` requests back to back."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    ready = threading.Barrier(clients + 1)
    go = threading.Event()

    def client(index: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for _ in range(warmup):
                send(http)
            ready.wait()
            go.wait()
            for _ in range(per_client):
                started = time.perf_counter()
                status, text = send(http)
                latencies[index].append(time.perf_counter() - started)
                if status != expected:
                    if not errors[index]:
                        print(f"unexpected answer {status}: {text[:200]}", file=sys.stderr)
                    errors[index] += 1

    def send(http: httpx.Client) -> tuple[int | str, str]:
        try:
            response = request(http)
        except httpx.HTTPError as exc:  # a timeout counts as an error, with its latency
            return type(exc).__name__, str(exc)
        return response.status_code, response.text

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    return Result([x for per in latencies for x in per], time.perf_counter() - started, sum(errors))


def create_request(workflow_id: int) -> Request:
    """POST a new schedule, interval and cron alternately, each with its own name."""
    numbers = itertools.count()
    lock = threading.Lock()

    def request(http: httpx.Client) -> httpx.Response:
        with lock:
            n = next(numbers)
        cadence = ({"schedule_type": "interval", "interval_seconds": 3600} if n % 2 else
                   {"schedule_type": "cron", "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"})
        return http.post("/api/v1/schedules", json={"name": f"api-bench-{n}", "workflow_id": workflow_id, **cadence})

    return request


def list_request(offset: int) -> Request:
    """GET one page of 100 at ``offset``."""
    def request(http: httpx.Client) -> httpx.Response:
        return http.get("/api/v1/schedules", params={"limit": PAGE, "offset": offset})

    return request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", type=int, default=100_000, help="schedules the user owns")
    parser.add_argument("--requests", type=int, default=100, help="requests of the single client")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients of the second run")
    parser.add_argument("--per-client", type=int, default=10, help="requests of each concurrent client")
    parser.add_argument("--deep-requests", type=int, default=10, help="--requests for the deep page")
    parser.add_argument("--deep-per-client", type=int, default=1, help="--per-client for the deep page")
    parser.add_argument("--warmup", type=int, default=1, help="requests per client before timing")
    args = parser.parse_args()
    deep = max(0, args.count - PAGE)
    cases: list[tuple[str, Request, int, int, int]] = []
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp, own_redis(Path(tmp)) as redis, \
            fresh_database(args.database, Path(tmp)) as url:
        started = time.perf_counter()
        account = make_account(url, args.count)
        fill = time.perf_counter() - started
        port = free_port()
        web = start_web(url, redis.url, port)
        try:
            cases = [("list first page (limit 100, offset 0)", list_request(0), 200, args.requests, args.per_client),
                     (f"list deep page (limit 100, offset {deep})", list_request(deep), 200, args.deep_requests,
                      args.deep_per_client),
                     ("create (interval / cron)", create_request(account.workflow_id), 201, args.requests,
                      args.per_client)]
            for name, request, expected, alone, each in cases:
                for clients, per_client in ((1, alone), (args.clients, each)):
                    result = run_case(f"http://127.0.0.1:{port}", account.token, request, expected, clients,
                                      per_client, args.warmup)
                    ms = [x * 1000 for x in result.latencies]
                    rows.append([name, clients, len(ms), percentile(ms, 0.5), percentile(ms, 0.99), max(ms),
                                 len(ms) / result.wall, result.errors])
        finally:
            web.terminate()
            web.wait(timeout=30)
    print_table(
        f"API latency, {args.database}, one user with {args.count} schedules (filled in {fill:.1f} s); "
        f"one rqflow web process; {machine()}",
        ["case", "clients", "requests", "p50 ms", "p99 ms", "max ms", "req/s", "errors"],
        rows,
    )


if __name__ == "__main__":
    main()
