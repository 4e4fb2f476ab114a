"""Run one workflow from one trigger node, recording the run and every node run.

Each write is committed before a node works and nothing is held open while it
runs: a node may wait seconds on an HTTP call, and on SQLite an open write
transaction would block every other process for that long. A trigger node only
hands on the event, so the run's first rows wait for the next commit: the one
before the first node that works, or, for a workflow that is only its trigger,
the caller's (the ledger row's outcome), so such an occurrence is written in one
transaction after its claim. The rows are written as Core statements
(:mod:`rqflow.engine.records`) and the workflow is read as a graph, not as ORM rows.

A node that fails and may be tried again (its retry policy, :mod:`rqflow.retry_policy`)
does not keep the worker: the run is left ``retrying`` with the node to try, the
attempt number, when, and the outputs so far, and :func:`continue_workflow` picks it
up where it stopped when its timer comes. The run's deadline (``deadline_at``) bounds
every node's alarm, and no retry is planned past it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from rqflow.components import NodeContext, get_component
from rqflow.components.templates import render_value
from rqflow.engine import records
from rqflow.engine.deadline import RunTimedOut, deadline
from rqflow.engine.records import FinishedRun, NodeFailure, Resume
from rqflow.graph import Edge, GraphNode, WorkflowGraph, downstream_order
from rqflow.models import UserProfile, utcnow
from rqflow.node_types.base import Component
from rqflow.schemas.json_values import bounded
from rqflow.settings import get_settings
from rqflow.signals import NullSignals, SchedulerSignals
from rqflow.spend import BudgetExceeded, RunBudget, Spend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunScope:
    """What every node of one run shares: where it is written, whose it is, when it must have ended, what it may
    spend on model calls (shared with the other workflow runs of the same ledger row) and what it has spent."""

    db: Session
    run_id: int
    graph: WorkflowGraph
    owner_id: int
    deadline_at: datetime | None = None
    budget: RunBudget = field(default_factory=RunBudget)
    spent: Spend = field(default_factory=Spend)


def run_workflow(
    *,
    db: Session,
    graph: WorkflowGraph,
    trigger: GraphNode,
    event_type: str,
    event: dict[str, Any],
    owner_id: int,
    schedule_run_id: int | None = None,
    signals: SchedulerSignals | None = None,
    deadline_at: datetime | None = None,
    budget: RunBudget | None = None,
) -> FinishedRun:
    """Execute the nodes downstream of ``trigger`` in dependency order; the first failure ends the run,
    unless its node may be tried again (then the run is left ``retrying``)."""
    run_id = records.start_run(db, workflow_id=graph.workflow_id, schedule_run_id=schedule_run_id,
                               trigger_node_id=trigger.id, event_type=event_type, event=_jsonable(event),
                               started_at=utcnow())
    scope = RunScope(db, run_id, graph, owner_id, deadline_at, budget or RunBudget())
    return _carry_on(scope, trigger, event, signals, resume=None)


def continue_workflow(
    *, db: Session, graph: WorkflowGraph, trigger: GraphNode, run_id: int, event: dict[str, Any], owner_id: int,
    resume: Resume, signals: SchedulerSignals | None = None, deadline_at: datetime | None = None,
    budget: RunBudget | None = None, spent_before: tuple[int, float] = (0, 0.0),
) -> FinishedRun:
    """Go on with a run that waited for a retry: the nodes that succeeded keep their outputs, and the failed
    node is tried again with the next attempt number; what it spent before the wait still counts."""
    scope = RunScope(db, run_id, graph, owner_id, deadline_at, budget or RunBudget(),
                     Spend(tokens=spent_before[0], cost_usd=spent_before[1]))
    return _carry_on(scope, trigger, event, signals, resume=resume)


def _carry_on(scope: RunScope, trigger: GraphNode, event: dict[str, Any], signals: SchedulerSignals | None, *,
              resume: Resume | None) -> FinishedRun:
    context = NodeContext(event=event, db=scope.db, workflow_id=scope.graph.workflow_id, workflow_run_id=scope.run_id,
                          signals=signals or NullSignals())
    if resume is not None:
        context.outputs.update(resume.outputs)
    context.budget = scope.budget
    failure = _run_nodes(scope, trigger, context, resume)
    if failure is not None and failure.retry_at is not None:
        return records.suspend_run(scope.db, scope.run_id, failure, outputs=context.outputs,
                                   spent=scope.spent.totals)
    # Not committed: the caller's next commit (the ledger row's outcome, or the next workflow's first
    # step) carries it, one transaction fewer per run; a process that dies first leaves the run
    # ``running`` (or unwritten), and whoever ends the ledger row fails it (services.occurrences.end_run).
    return records.end_run(scope.db, scope.run_id, error=failure.error if failure else "", finished_at=utcnow(),
                           failure=failure, resumed=resume is not None, spent=scope.spent.totals)


def _run_nodes(scope: RunScope, trigger: GraphNode, context: NodeContext, resume: Resume | None) -> NodeFailure | None:
    """Run each node in order (after a retry's wait: from the node that failed); return the first failure."""
    graph = scope.graph
    by_key = {node.key: node for node in graph.nodes}
    by_id = {node.id: node.key for node in graph.nodes}
    edges = [Edge(by_id[e.source_node_id], by_id[e.target_node_id]) for e in graph.edges if e.kind == "flow"]
    tool_edges = [(by_id[e.source_node_id], by_key[by_id[e.target_node_id]]) for e in graph.edges
                  if e.kind == "tool"]
    for key in downstream_order(trigger.key, by_key, edges):
        if key in context.outputs:  # succeeded before the retry's wait
            continue
        if scope.deadline_at is not None and utcnow() >= scope.deadline_at:
            return NodeFailure(f"node {key!r} did not start: {_past_deadline(scope)}", timed_out=True)
        context.tools = {tool.key: (tool.component_type, dict(tool.config)) for source, tool in tool_edges
                         if source == key}
        attempt = resume.attempt if resume is not None and resume.node_key == key else 1
        failure = _run_node(scope, NodeRow(scope.run_id, by_key[key], attempt), context)
        if failure is not None:
            return failure
    return None


@dataclass
class NodeRow:
    """One node's attempt as written so far: when it started, and its row once it has one."""

    run_id: int
    node: GraphNode
    attempt: int = 1
    started_at: datetime = field(default_factory=utcnow)  # when the node starts, not when its row is written
    id: int | None = None


def _run_node(scope: RunScope, row: NodeRow, context: NodeContext) -> NodeFailure | None:
    """Run one node and record it; None on success, else how it failed and whether it is tried again."""
    db, node = scope.db, row.node
    context.spend = Spend()  # what this node's model calls use; the run's budget keeps counting across nodes
    try:
        component = get_component(node.component_type)
        if component.is_trigger:
            output = component().run(component.parse_config(node.config), context)
            records.add_node_run(db, row.run_id, node, status="succeeded", started_at=row.started_at,
                                 input=stored(node.config), output=stored(output), finished_at=utcnow())
        else:
            output = _work(scope, row, component, context)
            assert row.id is not None, "a node that worked has its row"
            records.end_node_run(db, row.id, status="succeeded", output=stored(output), error="",
                                 finished_at=utcnow(), spent=context.spend.totals)
            db.commit()
    except Exception as exc:  # a failing node fails the run, never the worker
        # The traceback (file paths, the causes' own messages) is for the operator's log, not the user's run.
        log.info("node %s (attempt %d) of workflow run %s failed: %s", node.key, row.attempt, row.run_id, exc,
                 exc_info=exc)
        scope.spent.absorb(context.spend)
        _record_failure(db, row, exc, context.spend)
        return _failure(scope, row, exc)
    scope.spent.absorb(context.spend)
    context.outputs[node.key] = {"output": output}
    return None


def _failure(scope: RunScope, row: NodeRow, exc: Exception) -> NodeFailure:
    """How the run goes on after ``row``'s attempt failed: another attempt later, or the run fails.

    Only a node that got as far as working is tried again (a config or template that does
    not render fails the same way every time), never past the run's deadline, and never
    for an error that says it is final (``retryable = False``, such as an egress refusal).
    """
    error = f"node {row.node.key!r} failed: {str(exc) or type(exc).__name__}"
    timed_out = isinstance(exc, RunTimedOut)
    if isinstance(exc, BudgetExceeded):
        return NodeFailure(error, budget_exceeded=True)
    policy = scope.graph.retry_of(row.node)
    worked = row.id is not None and not timed_out and getattr(exc, "retryable", True)
    if not (worked and policy is not None and policy.allows_after(row.attempt)):
        return NodeFailure(error, timed_out=timed_out)
    retry_at = utcnow() + timedelta(seconds=policy.wait_after(row.attempt))
    if scope.deadline_at is not None and retry_at >= scope.deadline_at:
        return NodeFailure(f"{error} (not tried again: attempt {row.attempt + 1} would start after the run's "
                           f"deadline)", timed_out=False)
    return NodeFailure(error, retry_at=retry_at, node_key=row.node.key, attempt=row.attempt + 1)


def _record_failure(db: Session, row: NodeRow, exc: Exception, spend: Spend) -> None:
    """The node's row as failed, with a structured answer if the failure carries one, and what it spent."""
    output = stored(getattr(exc, "output", None))
    if row.id is not None:
        records.end_node_run(db, row.id, status="failed", output=output, error=_describe(exc), finished_at=utcnow(),
                             spent=spend.totals)
    else:
        records.add_node_run(db, row.run_id, row.node, status="failed", started_at=row.started_at, output=output,
                             error=_describe(exc), finished_at=utcnow(), attempt=row.attempt, spent=spend.totals)
    db.commit()


def _work(scope: RunScope, row: NodeRow, component: type[Component], context: NodeContext) -> Any:
    """Render, validate, record the input, run: all within one deadline (the node's, or the default), and
    within the run's.

    What the run wrote so far is committed first, so nothing is held open while the node works
    (a trigger node does no I/O, so a trigger-only workflow's rows ride on the caller's commit).
    """
    db = scope.db
    if context.user_profile is None:  # read only for a node that does work: a trigger needs no owner
        context.user_profile = db.get(UserProfile, scope.owner_id)
    db.commit()
    node = row.node
    limit = node.timeout_seconds or get_settings().node_timeout_seconds
    started = time.monotonic()
    with _alarm(scope, limit, limit):
        raw = render_value(node.config, _template_context(context))
        config = component.parse_config(raw)
    # Only once it is known to be valid, and never larger than the cap; seen as running while the node works.
    row.id = records.add_node_run(db, row.run_id, node, status="running", started_at=row.started_at,
                                  input=stored(raw), attempt=row.attempt)
    db.commit()  # outside the alarm, so a commit is never cut in half
    with _alarm(scope, max(limit - (time.monotonic() - started), 0.001), limit):
        return component().run(config, context)


def _alarm(scope: RunScope, node_left: float, limit: float) -> Any:
    """The node's deadline, or the run's if that comes first (then the run fails, never to be retried)."""
    if scope.deadline_at is None:
        return deadline(node_left, limit=limit)
    run_left = (scope.deadline_at - utcnow()).total_seconds()
    if run_left >= node_left:
        return deadline(node_left, limit=limit)
    message = _past_deadline(scope)
    if run_left <= 0:
        raise RunTimedOut(message)
    return deadline(run_left, expired=lambda: RunTimedOut(message))


def _past_deadline(scope: RunScope) -> str:
    assert scope.deadline_at is not None
    return f"the run went past its deadline ({scope.deadline_at:%Y-%m-%d %H:%M:%S} UTC, run_timeout_seconds)"


def _template_context(context: NodeContext) -> dict[str, Any]:
    return {"event": context.event, "nodes": context.outputs}


def _describe(exc: BaseException) -> str:
    """The error's type and message, bounded in size; never a traceback, which would show the worker's insides."""
    return f"{type(exc).__name__}: {exc}"[:8000]


def _jsonable(value: Any) -> Any:
    """``value`` made storable in a JSON column (datetimes and other objects become strings)."""
    return json.loads(json.dumps(value, default=str))


def stored(value: Any) -> Any:
    """A node's input or output as stored: whole up to RQFLOW_NODE_STORED_MAX_BYTES, else a preview that says so."""
    return bounded(value, get_settings().node_stored_max_bytes)
