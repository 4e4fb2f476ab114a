"""Run one workflow from one trigger node, recording the run and every node run.

Each write is committed before a node runs and nothing is held open while it
runs: a node may wait seconds on an HTTP call, and on SQLite an open write
transaction would block every other process for that long. The one exception is
the trigger node, which only hands on the event: the run and the trigger node's
run are committed together, two commits fewer an occurrence.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy.orm import Session

from rqflow.components import NodeContext, get_component
from rqflow.components.templates import render_value
from rqflow.engine.deadline import deadline
from rqflow.graph import Edge, downstream_order
from rqflow.models import NodeRun, UserProfile, Workflow, WorkflowNode, WorkflowRun, utcnow
from rqflow.node_types.base import Component
from rqflow.settings import get_settings
from rqflow.signals import NullSignals, SchedulerSignals

log = logging.getLogger(__name__)


def run_workflow(
    *,
    db: Session,
    workflow: Workflow,
    trigger_node: WorkflowNode,
    event_type: str,
    event: dict[str, Any],
    user_profile: UserProfile | None,
    schedule_run_id: int | None = None,
    signals: SchedulerSignals | None = None,
) -> WorkflowRun:
    """Execute the nodes downstream of ``trigger_node`` in dependency order; the first failure ends the run."""
    run = WorkflowRun(
        started_at=utcnow(),
        workflow_id=workflow.id,
        schedule_run_id=schedule_run_id,
        trigger_node_id=trigger_node.id,
        event_type=event_type,
        event=_jsonable(event),
        status="running",
    )
    db.add(run)
    db.flush()  # its id, for the node runs; committed with the trigger node's run, which does no I/O
    context = NodeContext(event=event, user_profile=user_profile, db=db, workflow_id=workflow.id,
                          workflow_run_id=run.id, signals=signals or NullSignals())
    error = _run_nodes(db, run, workflow, trigger_node, context)
    run.status, run.error, run.finished_at = ("failed" if error else "succeeded"), error, utcnow()
    # Flushed, not committed: the caller's next commit (the ledger row's outcome, or the next workflow's
    # first step) carries it, one transaction fewer per run; a process that dies first leaves the run
    # ``running``, and whoever ends the ledger row fails it (services.occurrences.end_run).
    db.flush()
    return run


def _run_nodes(db: Session, run: WorkflowRun, workflow: Workflow, trigger: WorkflowNode, context: NodeContext) -> str:
    """Run each node in order; return the first error (empty when all succeeded)."""
    by_key = {node.key: node for node in workflow.nodes}
    by_id = {node.id: node.key for node in workflow.nodes}
    edges = [Edge(by_id[e.source_node_id], by_id[e.target_node_id]) for e in workflow.edges if e.kind == "flow"]
    tool_edges = [(by_id[e.source_node_id], by_key[by_id[e.target_node_id]]) for e in workflow.edges
                  if e.kind == "tool"]
    for key in downstream_order(trigger.key, by_key, edges):
        context.tools = {tool.key: (tool.component_type, dict(tool.config)) for source, tool in tool_edges
                         if source == key}
        error = _run_node(db, run, by_key[key], context)
        if error:
            return f"node {key!r} failed: {error}"
    return ""


def _run_node(db: Session, run: WorkflowRun, node: WorkflowNode, context: NodeContext) -> str:
    """Run one node and record it; return its error message, or empty on success."""
    record = NodeRun(  # started now, not when the row is flushed (a trigger node's is flushed as it ends)
        workflow_run_id=run.id, node_id=node.id, node_key=node.key, component_type=node.component_type,
        started_at=utcnow(),
    )
    db.add(record)
    try:
        component = get_component(node.component_type)
        if component.is_trigger:
            output = _trigger(record, node, component, context)
        else:
            output = _work(db, record, node, component, context)
    except Exception as exc:  # a failing node fails the run, never the worker
        # The traceback (file paths, the causes' own messages) is for the operator's log, not the user's run.
        log.info("node %s of workflow run %s failed: %s", node.key, run.id, exc, exc_info=exc)
        record.status, record.error, record.finished_at = "failed", _describe(exc), utcnow()
        record.output = stored(getattr(exc, "output", None))  # a failure that carries a structured answer
        db.commit()
        return str(exc) or type(exc).__name__
    context.outputs[node.key] = {"output": output}
    record.status, record.output, record.finished_at = "succeeded", stored(output), utcnow()
    db.commit()
    return ""


def _trigger(record: NodeRun, node: WorkflowNode, component: type[Component], context: NodeContext) -> Any:
    """A trigger node hands on the event; it does no I/O and needs no deadline."""
    record.input = stored(node.config)
    return component().run(component.parse_config(node.config), context)


def _work(db: Session, record: NodeRun, node: WorkflowNode, component: type[Component], context: NodeContext) -> Any:
    """Render, validate, record the input, run: all within one deadline (the node's, or the default)."""
    limit = node.timeout_seconds or get_settings().node_timeout_seconds
    started = time.monotonic()
    with deadline(limit):
        raw = render_value(node.config, _template_context(context))
        config = component.parse_config(raw)
    record.input = stored(raw)  # only once it is known to be valid, and never larger than the cap
    db.commit()  # seen as running while the node works; outside the alarm, so a commit is never cut in half
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
