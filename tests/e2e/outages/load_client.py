"""A client process for the load scenario: threads that create, edit, read and delete schedules over HTTP.

Run as ``python -m tests.e2e.outages.load_client --base URL --token T --workflow-id N
--seconds S --threads K --out FILE``. It stops by itself after ``S`` seconds (each
thread finishes the request it is in) and writes a JSON summary to ``FILE``: the
number of requests by status, every answer of 500 or more and every transport
error (with its text), and the slowest answer.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import httpx

# A client gives up on one request after this long (the API's own database timeout is 10 s).
REQUEST_TIMEOUT_SECONDS = 30.0


class Tally:
    """What the threads saw, shared under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.failures: list[dict[str, Any]] = []
        self.slowest = 0.0

    def note(self, what: str, status: int | None, seconds: float, text: str) -> None:
        with self.lock:
            self.statuses[f"{what} {status}"] += 1
            self.slowest = max(self.slowest, seconds)
            if status is None or status >= 500 or "database is locked" in text:
                self.failures.append({"what": what, "status": status, "seconds": round(seconds, 3),
                                      "text": text[:500]})


def timed(client: httpx.Client, tally: Tally, what: str, method: str, path: str,
          body: dict[str, Any] | None = None) -> httpx.Response | None:
    started = time.monotonic()
    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        tally.note(what, None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        return None
    tally.note(what, response.status_code, time.monotonic() - started, response.text)
    return response


def one_cycle(client: httpx.Client, tally: Tally, workflow_id: int) -> None:
    """Create a schedule, edit it, read it and the list, pause and resume it, delete it."""
    name = f"load-{uuid.uuid4().hex[:8]}"
    created = timed(client, tally, "create", "POST", "/api/v1/schedules", {
        "name": name, "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 3600})
    if created is None or created.status_code != 201:
        return
    path = f"/api/v1/schedules/{created.json()['id']}"
    timed(client, tally, "update", "PATCH", path, {"description": "edited under load"})
    timed(client, tally, "get", "GET", path)
    timed(client, tally, "list", "GET", "/api/v1/schedules", None)
    timed(client, tally, "pause", "POST", f"{path}/pause", {"reason": "load"})
    timed(client, tally, "resume", "POST", f"{path}/resume")
    timed(client, tally, "runs", "GET", f"{path}/runs")
    timed(client, tally, "delete", "DELETE", path)


def hammer(base: str, token: str, workflow_id: int, deadline: float, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        while time.monotonic() < deadline:
            one_cycle(client, tally, workflow_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--workflow-id", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    threads = [threading.Thread(target=hammer, args=(args.base, args.token, args.workflow_id, deadline, tally))
               for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = {"requests": sum(tally.statuses.values()), "statuses": dict(tally.statuses),
               "failures": tally.failures, "slowest_s": round(tally.slowest, 3)}
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(summary, out)


if __name__ == "__main__":
    main()
