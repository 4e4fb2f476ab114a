"""Integration fixtures: an API client, users, and factories over the real database and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select

from rqflow.app import create_app
from rqflow.db import session_scope
from rqflow.models import Schedule, ScheduleRun, UserProfile, utcnow
from rqflow.schemas.schedule import ScheduleCreate
from rqflow.schemas.workflow import WorkflowCreate
from rqflow.services.schedules import create_schedule
from rqflow.services.users import create_user
from rqflow.services.workflows import create_workflow
from rqflow.settings import Settings
from rqflow.signals import NextTimer, NullSignals, RunStart


@dataclass
class ApiUser:
    """A user of the API: their id and the headers that authenticate them."""

    id: int
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_user(name: str) -> ApiUser:
    """Create a user through the service, as `rqflow user create` does."""
    with session_scope() as db:
        user, token = create_user(db=db, name=name)
        return ApiUser(id=user.id, name=name, token=token)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app over the test's database and Redis."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def alice(settings: Settings) -> ApiUser:
    return make_user("alice")


@pytest.fixture
def bob(settings: Settings) -> ApiUser:
    return make_user("bob")


@pytest.fixture
def redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url)


WORKFLOW = {
    "name": "report",
    "nodes": [
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "echo", "component_type": "python_call", "config": {"callable": "tests.integration.conftest:echo"}},
    ],
    "edges": [{"source": "t", "target": "echo"}],
}


def echo(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A python_call target: returns what it was given, so tests can read it in node runs."""
    return {"scheduled_for": event["scheduled_for"], "kwargs": kwargs}


def make_workflow(user: ApiUser, **overrides: Any) -> int:
    """Store a workflow (trigger -> echo) for ``user``; return its id."""
    with session_scope() as db:
        profile = db.get(UserProfile, user.id)
        assert profile is not None
        return create_workflow(db=db, owner=profile, data=WorkflowCreate.model_validate({**WORKFLOW, **overrides})).id


def make_schedule(user: ApiUser, workflow_id: int, *, now: datetime | None = None, **overrides: Any) -> Schedule:
    """Store an active schedule (default: every 60 s) through the service."""
    fields = {"name": "every-minute", "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 60}
    with session_scope() as db:
        profile = db.get(UserProfile, user.id)
        assert profile is not None
        return create_schedule(db=db, owner=profile, data=ScheduleCreate.model_validate({**fields, **overrides}),
                               now=now or utcnow(), signals=NullSignals())


@dataclass
class RecordingSignals:
    """SchedulerSignals that remember what they were told, for service-level tests."""

    changed: list[str] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    bulk: list[int] = field(default_factory=list)  # the queued runs sent to the bulk queue
    duplicates: int = 0
    armed: list[tuple[str, datetime]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)  # the trigger kinds of the runs that started
    retries: list[tuple[int, int, datetime]] = field(default_factory=list)  # (workflow run, attempt, when)
    llm_calls: list[tuple[str, int, int, float]] = field(default_factory=list)  # (model, prompt, completion, $)
    notifications: list[tuple[int, int, datetime]] = field(default_factory=list)  # (delivery, try, when)

    def schedule_changed(self, schedule_id: str) -> None:
        self.changed.append(schedule_id)

    def run_now(self, *, schedule_id: str, run_id: int, bulk: bool = False) -> None:
        self.queued.append(run_id)
        if bulk:
            self.bulk.append(run_id)

    def duplicate_refused(self) -> None:
        self.duplicates += 1

    def run_started(self, *, scheduled_for: datetime, started_at: datetime, trigger_kind: str) -> None:
        self.started.append(trigger_kind)

    def claimed(self, *, schedule_id: str, next_timer: NextTimer | None, start: RunStart | None) -> None:
        if next_timer is not None:
            self.armed.append((schedule_id, next_timer.occurrence))
        if start is not None:
            self.run_started(scheduled_for=start.scheduled_for, started_at=start.started_at,
                             trigger_kind=start.trigger_kind)

    def retry_later(self, *, workflow_run_id: int, attempt: int, at: datetime) -> None:
        self.retries.append((workflow_run_id, attempt, at))

    def llm_used(self, *, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        self.llm_calls.append((model, prompt_tokens, completion_tokens, cost_usd))

    def notify_later(self, *, delivery_id: int, attempt: int, at: datetime) -> None:
        self.notifications.append((delivery_id, attempt, at))


def only_run(schedule_id: str) -> ScheduleRun:
    """The schedule's one ledger row, detached (it fails if there are none or several)."""
    with session_scope() as db:
        row = db.scalars(select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id)).one()
        db.expunge(row)
        return row


def in_future(seconds: float) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


def explode(event: dict[str, Any], **kwargs: Any) -> None:
    """A python_call target that fails (its message says "boom")."""
    raise ValueError("boom: exploded on purpose")


def pause_for(event: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A python_call target that takes ``seconds`` (in small sleeps, which a signal interrupts)."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)
    return {"slept": seconds}
