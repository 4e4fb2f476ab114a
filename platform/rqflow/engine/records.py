"""What the engine writes: a workflow run's row and its node runs' rows, as Core statements built once.

A run writes a few rows on every occurrence, and the ORM's unit of work cost
more than the writes themselves; these statements are only bound per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from rqflow.graph import GraphNode
from rqflow.models import NodeRun, WorkflowRun

RUNS = cast(Table, WorkflowRun.__table__)
NODE_RUNS = cast(Table, NodeRun.__table__)

INSERT_RUN = insert(RUNS).returning(RUNS.c.id)
END_RUN = update(RUNS).where(RUNS.c.id == bindparam("run_id"))
INSERT_NODE_RUN = insert(NODE_RUNS).returning(NODE_RUNS.c.id)
END_NODE_RUN = update(NODE_RUNS).where(NODE_RUNS.c.id == bindparam("node_run_id"))


@dataclass(frozen=True)
class FinishedRun:
    """How a workflow run ended."""

    id: int
    status: str
    error: str


def start_run(db: Session, *, workflow_id: int, schedule_run_id: int | None, trigger_node_id: int,
              event_type: str, event: dict[str, Any], started_at: datetime) -> int:
    """Write a ``running`` workflow run; its id."""
    return cast(int, db.connection().execute(INSERT_RUN, {
        "workflow_id": workflow_id, "schedule_run_id": schedule_run_id, "trigger_node_id": trigger_node_id,
        "event_type": event_type, "event": event, "status": "running", "error": "", "started_at": started_at,
    }).scalar_one())


def end_run(db: Session, run_id: int, *, error: str, finished_at: datetime) -> FinishedRun:
    """Record the workflow run's outcome: failed with the first node's error, else succeeded."""
    status = "failed" if error else "succeeded"
    db.connection().execute(END_RUN, {"run_id": run_id, "status": status, "error": error, "finished_at": finished_at})
    return FinishedRun(run_id, status, error)


def add_node_run(db: Session, run_id: int, node: GraphNode, *, status: str, started_at: datetime,
                 input: Any = None, output: Any = None, error: str = "",
                 finished_at: datetime | None = None) -> int:
    """Write one node's run; its id."""
    return cast(int, db.connection().execute(INSERT_NODE_RUN, {
        "workflow_run_id": run_id, "node_id": node.id, "node_key": node.key, "component_type": node.component_type,
        "status": status, "input": input, "output": output, "error": error, "started_at": started_at,
        "finished_at": finished_at,
    }).scalar_one())


def end_node_run(db: Session, node_run_id: int, *, status: str, output: Any, error: str,
                 finished_at: datetime) -> None:
    """Record how a running node ended."""
    db.connection().execute(END_NODE_RUN, {"node_run_id": node_run_id, "status": status, "output": output,
                                           "error": error, "finished_at": finished_at})
