"""What the security tests share: a "world" of one row of every kind per user, and table snapshots.

``row_counts()`` and ``snapshot()`` read every table of :data:`rqflow.models.Base.metadata`, so a
table added later is covered without touching these tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.models import Base, UserProfile, utcnow
from rqflow.services.schedules import trigger_schedule_now
from rqflow.services.workflow_graphs import load_graph
from rqflow.settings import Settings
from rqflow.signals import NullSignals
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

# Columns that a read changes by design: authenticating stamps the token's last use.
VOLATILE_COLUMNS = {("api_tokens", "last_used_at")}


@dataclass(frozen=True)
class World:
    """One user's rows, one of each kind an id in a route or a tool can name; names carry ``marker``."""

    user: ApiUser
    workflow_id: int
    trigger_node_id: int
    schedule_id: str
    schedule_run_id: int
    workflow_run_id: int
    token_id: int

    @property
    def marker(self) -> str:
        """Text in every name and payload of this world, so another user's answers can be searched for it."""
        return f"{self.user.name}-only"


def make_world(user: ApiUser) -> World:
    """A workflow, a schedule with a ledger row, and a workflow run with its node runs, all ``user``'s."""
    marker = f"{user.name}-only"
    workflow_id = make_workflow(user, name=f"{marker}-workflow", description=marker)
    job = make_schedule(user, workflow_id, name=f"{marker}-schedule", trigger_payload={"secret": marker},
                        notify=[{"on": ["failed"], "webhook": f"https://hooks.example.com/{marker}"}])
    with session_scope() as db:
        owner, graph = db.get(UserProfile, user.id), load_graph(db, workflow_id)
        assert owner is not None and graph is not None
        trigger = next(node for node in graph.nodes if node.component_type == "trigger_schedule")
        schedule_run = trigger_schedule_now(db=db, owner=owner, schedule_id=job.id, now=utcnow(),
                                            signals=NullSignals())
        run = run_workflow(db=db, graph=graph, trigger=trigger, event_type="schedule",
                           event={"scheduled_for": utcnow().isoformat(), "payload": {"secret": marker}},
                           owner_id=user.id)
        [token] = owner.tokens
        return World(user=user, workflow_id=workflow_id, trigger_node_id=trigger.id, schedule_id=job.id,
                     schedule_run_id=schedule_run.id, workflow_run_id=run.id, token_id=token.id)


@pytest.fixture
def alice_world(alice: ApiUser, settings: Settings) -> World:
    return make_world(alice)


@pytest.fixture
def bob_world(bob: ApiUser, settings: Settings) -> World:
    return make_world(bob)


def row_counts() -> dict[str, int]:
    """The number of rows of every table."""
    with session_scope() as db:
        return {table.name: db.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but :data:`VOLATILE_COLUMNS`), in primary-key order."""
    with session_scope() as db:
        return {table.name: [tuple(row) for row in db.execute(
                    select(*[c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS])
                    .order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


def capture() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, whole, for :func:`restore`."""
    with session_scope() as db:
        return {table.name: [dict(row) for row in db.execute(select(table)).mappings()]
                for table in Base.metadata.sorted_tables}


def restore(rows: dict[str, list[dict[str, Any]]]) -> None:
    """Put every table back to ``rows`` (from :func:`capture`): delete everything, insert them again."""
    with session_scope() as db:
        for table in reversed(Base.metadata.sorted_tables):
            db.execute(table.delete())
        for table in Base.metadata.sorted_tables:
            if rows[table.name]:
                db.execute(table.insert(), rows[table.name])
