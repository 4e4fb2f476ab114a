"""Asking the API while the database is away: every answer's status and how long it took.

"Answers 503, not a hang" is behaviour with a bound: a request waits at most
``api_database_timeout_seconds`` (10 s by default) for the database, so its
answer must come within that plus :data:`ANSWER_MARGIN_SECONDS` of slack for a
busy two-core machine. The client's own timeout is longer still, so a request
that hangs shows up as a timeout (status ``None``) instead of being cut short.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from rqflow.db import session_scope
from rqflow.models import UserProfile
from rqflow.services.users import create_token
from rqflow.settings import Settings
from tests.e2e.conftest import Stack

API_TIMEOUT_SECONDS = float(Settings.model_fields["api_database_timeout_seconds"].default)
ANSWER_MARGIN_SECONDS = 5.0
# The longest an API answer may take while the database is unavailable.
ANSWER_BOUND_SECONDS = API_TIMEOUT_SECONDS + ANSWER_MARGIN_SECONDS
# The client waits this long before calling a request hung.
HANG_SECONDS = 3 * ANSWER_BOUND_SECONDS


@dataclass(frozen=True)
class ApiUser:
    """A user of the stack's database and its API token."""

    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def api_user(stack: Stack) -> ApiUser:
    """The stack's user (the owner of the schedules it creates), with a fresh API token."""
    user_id = stack.user()
    with session_scope(stack.database_url) as db:
        owner = db.get(UserProfile, user_id)
        assert owner is not None
        token = create_token(db=db, user=owner, label="outage probe")
    return ApiUser(id=user_id, token=token)


@dataclass(frozen=True)
class Answer:
    """One request and what came of it (times on the monotonic clock)."""

    what: str
    status: int | None  # None: no answer (timeout or connection error)
    started: float
    ended: float
    body: str

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class ApiProbe:
    """Clients of ``rqflow web`` asking, side by side, a read, a write and the readiness check, over and over.

    Each kind of request runs in its own thread, one request at a time, at most one
    per ``period`` seconds, so a request that waits out the API's database timeout
    does not hold up the others.
    """

    def __init__(self, base_url: str, user: ApiUser, workflow_id: int, *, period: float = 1.0) -> None:
        self.base_url = base_url
        self.user = user
        self.workflow_id = workflow_id
        self.period = period
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._created = itertools.count(1)

    def start(self) -> None:
        for what in ("list schedules", "create schedule", "readyz"):
            thread = threading.Thread(target=self._keep_asking, args=(what,), name=f"probe {what}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> list[Answer]:
        """Let each thread finish its request in flight; return every answer, by start."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=HANG_SECONDS + 5)
        self._threads.clear()
        self._stop.clear()
        with self._lock:
            return sorted(self.answers, key=lambda answer: answer.started)

    def _keep_asking(self, what: str) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.user.headers, timeout=HANG_SECONDS) as client:
            while not self._stop.is_set():
                answer = self.ask(client, what)
                self._stop.wait(max(0.0, self.period - answer.seconds))

    def ask(self, client: httpx.Client, what: str) -> Answer:
        """Send one request of kind ``what``; keep and return its answer."""
        method, path, body = self._request(what)
        started = time.monotonic()
        try:
            response = client.request(method, path, json=body)
            status, text = response.status_code, response.text[:300]
        except httpx.HTTPError as exc:
            status, text = None, f"{type(exc).__name__}: {exc}"
        answer = Answer(what, status, started, time.monotonic(), text)
        with self._lock:
            self.answers.append(answer)
        return answer

    def _request(self, what: str) -> tuple[str, str, dict[str, Any] | None]:
        if what == "list schedules":
            return "GET", "/api/v1/schedules", None
        if what == "create schedule":
            return "POST", "/api/v1/schedules", {
                "name": f"probe-{next(self._created)}", "workflow_id": self.workflow_id,
                "schedule_type": "interval", "interval_seconds": 3600}
        return "GET", "/readyz", None
