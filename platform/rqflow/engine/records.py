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
from rqflow.models.schedule_run import BUDGET_REASON, TIMEOUT_REASON

RUNS = cast(Table, WorkflowRun.__table__)
NODE_RUNS = cast(Table, NodeRun.__table__)

INSERT_RUN = insert(RUNS).returning(RUNS.c.id)
END_RUN = update(RUNS).where(RUNS.c.id == bindparam("run_id"))
INSERT_NODE_RUN = insert(NODE_RUNS).returning(NODE_RUNS.c.id)
END_NODE_RUN = update(NODE_RUNS).where(NODE_RUNS.c.id == bindparam("node_run_id"))


# What a run that waited for a retry no longer needs once it goes on.
NOT_WAITING = {"resume_node_key": None, "resume_attempt": None, "next_attempt_at": None, "resume_outputs": None}


@dataclass(frozen=True)
class FinishedRun:
    """How a workflow run ended, or (``retrying``) when it goes on."""

    id: int
    status: str
    error: str
    timed_out: bool = False  # it went past the run's deadline
    next_attempt_at: datetime | None = None  # while retrying: when the next attempt is due
    attempt: int | None = None  # while retrying: the next attempt's number
    budget_exceeded: bool = False  # a model call was refused by the run's budget
    total_tokens: int = 0  # its nodes' model calls, all attempts
    total_cost_usd: float = 0.0

    @property
    def ledger_reason(self) -> str:
        """The reason its ledger row ends with if this run failed it: past its deadline, or stopped by its budget."""
        if self.timed_out:
            return TIMEOUT_REASON
        return BUDGET_REASON if self.budget_exceeded else ""


@dataclass(frozen=True)
class NodeFailure:
    """A node's attempt failed: the run's error, and when (if at all) the node is tried again."""

    error: str
    timed_out: bool = False
    budget_exceeded: bool = False
    retry_at: datetime | None = None
    node_key: str = ""
    attempt: int = 1  # the number of the attempt that comes at retry_at


@dataclass(frozen=True)
class Resume:
    """Where a run goes on after a retry's wait: the node to try, its attempt number, the outputs it starts from."""

    node_key: str
    attempt: int
    outputs: dict[str, Any]


def start_run(db: Session, *, workflow_id: int, schedule_run_id: int | None, trigger_node_id: int,
              event_type: str, event: dict[str, Any], started_at: datetime) -> int:
    """Write a ``running`` workflow run; its id."""
    return cast(int, db.connection().execute(INSERT_RUN, {
        "workflow_id": workflow_id, "schedule_run_id": schedule_run_id, "trigger_node_id": trigger_node_id,
        "event_type": event_type, "event": event, "status": "running", "error": "", "started_at": started_at,
    }).scalar_one())


def end_run(db: Session, run_id: int, *, error: str, finished_at: datetime, failure: NodeFailure | None = None,
            resumed: bool = False, spent: tuple[int, float] = (0, 0.0)) -> FinishedRun:
    """Record the workflow run's outcome: failed with the first node's error, else succeeded; with what its
    model calls used (``spent``: tokens, US dollars).

    ``resumed``: the run waited for a retry, so what it kept to go on is cleared.
    """
    status = "failed" if error else "succeeded"
    values = {"run_id": run_id, "status": status, "error": error, "finished_at": finished_at,
              "total_tokens": spent[0], "total_cost_usd": spent[1]}
    if resumed:
        values |= NOT_WAITING
    db.connection().execute(END_RUN, values)
    return FinishedRun(run_id, status, error, timed_out=bool(failure and failure.timed_out),
                       budget_exceeded=bool(failure and failure.budget_exceeded), total_tokens=spent[0],
                       total_cost_usd=spent[1])


def suspend_run(db: Session, run_id: int, failure: NodeFailure, *, outputs: dict[str, Any],
                spent: tuple[int, float]) -> FinishedRun:
    """Leave the run ``retrying`` until ``failure.retry_at``, with what it needs to go on (not committed)."""
    db.connection().execute(END_RUN, {
        "run_id": run_id, "status": "retrying", "error": failure.error, "resume_node_key": failure.node_key,
        "resume_attempt": failure.attempt, "next_attempt_at": failure.retry_at, "resume_outputs": outputs,
        "total_tokens": spent[0], "total_cost_usd": spent[1],
    })
    return FinishedRun(run_id, "retrying", failure.error, next_attempt_at=failure.retry_at, attempt=failure.attempt,
                       total_tokens=spent[0], total_cost_usd=spent[1])


def add_node_run(db: Session, run_id: int, node: GraphNode, *, status: str, started_at: datetime,
                 input: Any = None, output: Any = None, error: str = "",
                 finished_at: datetime | None = None, attempt: int = 1, spent: tuple[int, float] = (0, 0.0)) -> int:
    """Write one node's run (one attempt of it); its id."""
    return cast(int, db.connection().execute(INSERT_NODE_RUN, {
        "workflow_run_id": run_id, "node_id": node.id, "node_key": node.key, "component_type": node.component_type,
        "attempt": attempt, "total_tokens": spent[0], "total_cost_usd": spent[1], "status": status, "input": input, "output": output, "error": error, "started_at": started_at,
        "finished_at": finished_at,
    }).scalar_one())


def end_node_run(db: Session, node_run_id: int, *, status: str, output: Any, error: str,
                 finished_at: datetime, spent: tuple[int, float] = (0, 0.0)) -> None:
    """Record how a running node ended, and what its model calls used."""
    db.connection().execute(END_NODE_RUN, {"node_run_id": node_run_id, "status": status, "output": output,
                                           "error": error, "finished_at": finished_at, "total_tokens": spent[0],
                                           "total_cost_usd": spent[1]})
