"""The trigger resolver's matching rules, on a throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from rqflow.db import make_engine
from rqflow.events import ScheduleTarget
from rqflow.models import Base, UserProfile, Workflow, WorkflowNode
from rqflow.services.triggers import TriggerResolver


@pytest.fixture
def db(tmp_path: Path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    Base.metadata.create_all(engine)
    return Session(engine, expire_on_commit=False)


def _workflow(db: Session, owner: UserProfile, config: dict[str, str]) -> WorkflowNode:
    node = WorkflowNode(key="t", component_type="trigger_schedule", config=config)
    db.add(Workflow(user_profile_id=owner.id, name="w", nodes=[node]))
    db.commit()
    return node


def test_matching_by_id_by_name_pattern_and_by_target(db: Session) -> None:
    alice, bob = UserProfile(name="alice"), UserProfile(name="bob")
    db.add_all([alice, bob])
    db.commit()
    by_id = _workflow(db, alice, {"scheduled_job_id": "s-1"})
    by_name = _workflow(db, alice, {"name_pattern": "nightly-*"})
    targeted = _workflow(db, alice, {})
    _workflow(db, bob, {"name_pattern": "*"})  # another user's trigger never matches
    resolver = TriggerResolver(db)

    def matches(schedule_id: str, name: str, workflow_id: int, trigger_node_id: int | None = None) -> list[int]:
        target = ScheduleTarget(schedule_id, name, workflow_id, trigger_node_id)
        return [node.id for node in resolver.started_by(target, alice.id)]

    assert matches("s-1", "x", 999) == [by_id.id]
    assert matches("s-2", "nightly-report", 999) == [by_name.id]
    assert matches("s-3", "x", targeted.workflow_id) == [targeted.id]
    assert matches("s-3", "x", targeted.workflow_id, trigger_node_id=by_id.id) == []
