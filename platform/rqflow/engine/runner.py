"""Run one workflow from one trigger node, recording the run and every node run.

Each write is committed before a node works and nothing is held open while it
runs: a node may wait seconds on an HTTP call, and on SQLite an open write
transaction would block every other process for that long. A trigger node only
hands on the event, so the run's first rows wait for the next commit: the one
before the first node that works, or, for a workflow that is only its trigger,
the caller's (the ledger row's outcome), so such an occurrence is written in one
transaction after its claim. The rows are written as Core statements
(:mod:`rqflow.engine.records`) and the workflow is read as a graph, not as ORM rows.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rqflow.components import NodeContext, get_component
from rqflow.components.templates import render_value
from rqflow.engine import records
from rqflow.engine.deadline import deadline
from rqflow.engine.records import FinishedRun
from rqflow.graph import Edge, GraphNode, WorkflowGraph, downstream_order
from rqflow.models import UserProfile, utcnow
from rqflow.node_types.base import Component
from rqflow.settings import get_settings
from rqflow.signals import NullSignals, SchedulerSignals

log = logging.getLogger(__name__)


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
) -> FinishedRun:
    """Execute the nodes downstream of ``trigger`` in dependency order; the first failure ends the run."""
    run_id = records.start_run(db, workflow_id=graph.workflow_id, schedule_run_id=schedule_run_id,
                               trigger_node_id=trigger.id, event_type=event_type, event=_jsonable(event),
                               started_at=utcnow())
    context = NodeContext(event=event, db=db, workflow_id=graph.workflow_id, workflow_run_id=run_id,
                          signals=signals or NullSignals())
    error = _run_nodes(db, run_id, graph, trigger, context, owner_id)
    # Not committed: the caller's next commit (the ledger row's outcome, or the next workflow's first
    # step) carries it, one transaction fewer per run; a process that dies first leaves the run
    # ``running`` (or unwritten), and whoever ends the ledger row fails it (services.occurrences.end_run).
    return records.end_run(db, run_id, error=error, finished_at=utcnow())


def _run_nodes(db: Session, run_id: int, graph: WorkflowGraph, trigger: GraphNode, context: NodeContext,
               owner_id: int) -> str:
    """Run each node in order; return the first error (empty when all succeeded)."""
    by_key = {node.key: node for node in graph.nodes}
    by_id = {node.id: node.key for node in graph.nodes}
    edges = [Edge(by_id[e.source_node_id], by_id[e.target_node_id]) for e in graph.edges if e.kind == "flow"]
    tool_edges = [(by_id[e.source_node_id], by_key[by_id[e.target_node_id]]) for e in graph.edges
                  if e.kind == "tool"]
    for key in downstream_order(trigger.key, by_key, edges):
        context.tools = {tool.key: (tool.component_type, dict(tool.config)) for source, tool in tool_edges
                         if source == key}
        error = _run_node(db, run_id, by_key[key], context, owner_id)
        if error:
            return f"node {key!r} failed: {error}"
    return ""


@dataclass
class NodeRow:
    """One node's run as written so far: when it started, and its row once it has one."""

    run_id: int
    node: GraphNode
    started_at: datetime = field(default_factory=utcnow)  # when the node starts, not when its row is written
    id: int | None = None


def _run_node(db: Session, run_id: int, node: GraphNode, context: NodeContext, owner_id: int) -> str:
    """Run one node and record it; return its error message, or empty on success."""
    row = NodeRow(run_id, node)
    try:
        component = get_component(node.component_type)
        if component.is_trigger:
            output = component().run(component.parse_config(node.config), context)
            records.add_node_run(db, run_id, node, status="succeeded", started_at=row.started_at,
                                 input=stored(node.config), output=stored(output), finished_at=utcnow())
        else:
            output = _work(db, row, component, context, owner_id)
            assert row.id is not None, "a node that worked has its row"
            records.end_node_run(db, row.id, status="succeeded", output=stored(output), error="",
                                 finished_at=utcnow())
            db.commit()
    except Exception as exc:  # a failing node fails the run, never the worker
        # The traceback (file paths, the causes' own messages) is for the operator's log, not the user's run.
        log.info("node %s of workflow run %s failed: %s", node.key, run_id, exc, exc_info=exc)
        _record_failure(db, row, exc)
        return str(exc) or type(exc).__name__
    context.outputs[node.key] = {"output": output}
    return ""


def _record_failure(db: Session, row: NodeRow, exc: Exception) -> None:
    """The node's row as failed, with a structured answer if the failure carries one."""
    output = stored(getattr(exc, "output", None))
    if row.id is not None:
        records.end_node_run(db, row.id, status="failed", output=output, error=_describe(exc), finished_at=utcnow())
    else:
        records.add_node_run(db, row.run_id, row.node, status="failed", started_at=row.started_at, output=output,
                             error=_describe(exc), finished_at=utcnow())
    db.commit()


def _work(db: Session, row: NodeRow, component: type[Component], context: NodeContext, owner_id: int) -> Any:
    """Render, validate, record the input, run: all within one deadline (the node's, or the default).

    What the run wrote so far is committed first, so nothing is held open while the node works
    (a trigger node does no I/O, so a trigger-only workflow's rows ride on the caller's commit).
    """
    if context.user_profile is None:  # read only for a node that does work: a trigger needs no owner
        context.user_profile = db.get(UserProfile, owner_id)
    db.commit()
    node = row.node
    limit = node.timeout_seconds or get_settings().node_timeout_seconds
    started = time.monotonic()
    with deadline(limit):
        raw = render_value(node.config, _template_context(context))
        config = component.parse_config(raw)
    # Only once it is known to be valid, and never larger than the cap; seen as running while the node works.
    row.id = records.add_node_run(db, row.run_id, node, status="running", started_at=row.started_at,
                                  input=stored(raw))
    db.commit()  # outside the alarm, so a commit is never cut in half
    with deadline(max(limit - (time.monotonic() - started), 0.001), limit=limit):
        return component().run(config, context)


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
    text = json.dumps(value, default=str)
    limit = get_settings().node_stored_max_bytes
    if len(text) <= limit:
        return json.loads(text)
    return {"truncated": True, "size_bytes": len(text), "limit_bytes": limit, "preview": text[:limit // 4]}
