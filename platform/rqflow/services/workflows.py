"""Workflows: create, read, replace the graph, delete, and read their runs."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from rqflow.errors import InvalidInput, WorkflowNotFound, WorkflowRunNotFound
from rqflow.graph import Edge, find_cycle
from rqflow.models import UserProfile, Workflow, WorkflowEdge, WorkflowNode, WorkflowRun
from rqflow.node_types.registry import get_component
from rqflow.schemas.workflow import EdgeIn, NodeIn, RetryIn, WorkflowCreate, WorkflowUpdate
from rqflow.services import quotas
from rqflow.settings import get_settings


def create_workflow(*, db: Session, owner: UserProfile, data: WorkflowCreate) -> Workflow:
    """Validate the graph and store it, within the owner's workflow cap."""
    _validate_graph(data.nodes, data.edges)
    _check_retry(data.retry, field="retry")
    quotas.check_workflows(db, owner.id)
    workflow = Workflow(user_profile_id=owner.id, name=data.name, description=data.description,
                        may_schedule_itself=data.may_schedule_itself, retry=_stored_retry(data.retry))
    db.add(workflow)
    _replace_graph(db, workflow, data.nodes, data.edges)
    return workflow


def get_workflow(*, db: Session, owner: UserProfile, workflow_id: int, field: str = "id") -> Workflow:
    """The owner's workflow, or WorkflowNotFound (also for other users' workflows)."""
    workflow = db.get(Workflow, workflow_id)
    if workflow is None or workflow.user_profile_id != owner.id:
        raise WorkflowNotFound(workflow_id, field=field)
    return workflow


def list_workflows(*, db: Session, owner: UserProfile, limit: int, offset: int) -> tuple[list[Workflow], int]:
    """One page of the owner's workflows, oldest first, and the total."""
    where = Workflow.user_profile_id == owner.id
    total = db.scalar(select(func.count()).select_from(Workflow).where(where)) or 0
    query = select(Workflow).where(where).order_by(Workflow.id).limit(limit).offset(offset)
    return list(db.scalars(query.options(selectinload(Workflow.nodes), selectinload(Workflow.edges)))), total


def update_workflow(*, db: Session, owner: UserProfile, workflow_id: int, data: WorkflowUpdate) -> Workflow:
    """Rename or describe; with ``nodes`` (and ``edges``) replace the whole graph."""
    workflow = get_workflow(db=db, owner=owner, workflow_id=workflow_id)
    if data.name is not None:
        workflow.name = data.name
    if data.description is not None:
        workflow.description = data.description
    if data.may_schedule_itself is not None:
        workflow.may_schedule_itself = data.may_schedule_itself
    if data.retry is not None:
        _check_retry(data.retry, field="retry")
        workflow.retry = _stored_retry(data.retry)
    if data.nodes is not None:
        edges = data.edges if data.edges is not None else []
        _validate_graph(data.nodes, edges)
        _replace_graph(db, workflow, data.nodes, edges)
    elif data.edges is not None:
        raise InvalidInput("edges can only be replaced together with nodes", field="edges")
    return workflow


def delete_workflow(*, db: Session, owner: UserProfile, workflow_id: int) -> None:
    """Delete the workflow; its schedules and runs go with it."""
    db.delete(get_workflow(db=db, owner=owner, workflow_id=workflow_id))


def list_workflow_runs(
    *, db: Session, owner: UserProfile, workflow_id: int, limit: int, offset: int
) -> tuple[list[WorkflowRun], int]:
    """One page of a workflow's runs, newest first."""
    get_workflow(db=db, owner=owner, workflow_id=workflow_id)
    where = WorkflowRun.workflow_id == workflow_id
    total = db.scalar(select(func.count()).select_from(WorkflowRun).where(where)) or 0
    query = select(WorkflowRun).where(where).order_by(WorkflowRun.id.desc()).limit(limit).offset(offset)
    return list(db.scalars(query)), total


def get_workflow_run(*, db: Session, owner: UserProfile, run_id: int) -> WorkflowRun:
    """One run with its node runs, if its workflow is the owner's."""
    run = db.get(WorkflowRun, run_id, options=[selectinload(WorkflowRun.node_runs)])
    if run is None:
        raise WorkflowRunNotFound(run_id)
    workflow = db.get(Workflow, run.workflow_id)
    if workflow is None or workflow.user_profile_id != owner.id:
        raise WorkflowRunNotFound(run_id)
    return run


def edge_keys(workflow: Workflow) -> list[tuple[str, str, str]]:
    """The edges as ``(source key, target key, kind)``."""
    keys = {node.id: node.key for node in workflow.nodes}
    return [(keys[e.source_node_id], keys[e.target_node_id], e.kind) for e in workflow.edges]


def _validate_graph(nodes: list[NodeIn], edges: list[EdgeIn]) -> None:
    """Within the node cap; unique keys, known component types with valid configs, edges between known
    keys, no cycle."""
    quotas.check_node_count(len(nodes))
    keys = [node.key for node in nodes]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidInput(f"node keys must be unique; repeated: {', '.join(duplicates)}", field="nodes")
    for index, node in enumerate(nodes):
        _validate_node(index, node)
    for index, edge in enumerate(edges):
        for end in ("source", "target"):
            if getattr(edge, end) not in keys:
                raise InvalidInput(f"edge {end} {getattr(edge, end)!r} is not a node key", field=f"edges.{index}.{end}")
    _validate_tool_edges(nodes, edges)
    cycle = find_cycle(keys, [Edge(e.source, e.target) for e in edges if e.kind == "flow"])
    if cycle:
        raise InvalidInput(f"the workflow has a cycle: {' -> '.join(cycle)}", field="edges")


def _validate_tool_edges(nodes: list[NodeIn], edges: list[EdgeIn]) -> None:
    """A tool edge runs from a node that calls tools (an agent) to a tool node."""
    by_key = {node.key: get_component(node.component_type) for node in nodes}
    for index, edge in enumerate(edges):
        if edge.kind != "tool":
            continue
        if not by_key[edge.source].uses_tools:
            raise InvalidInput(f"node {edge.source!r} cannot call tools; a tool edge starts at an agent node",
                               field=f"edges.{index}.source")
        if not by_key[edge.target].is_tool:
            raise InvalidInput(f"node {edge.target!r} is not a tool node", field=f"edges.{index}.target")


def _validate_node(index: int, node: NodeIn) -> None:
    _check_retry(node.retry, field=f"nodes.{index}.retry")
    try:
        get_component(node.component_type).parse_config(node.config)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=f"nodes.{index}.component_type") from exc
    except ValidationError as exc:
        raise InvalidInput(f"invalid config for {node.component_type}: {exc}",
                           field=f"nodes.{index}.config{_first_location(exc)}") from exc
    except ValueError as exc:
        raise InvalidInput(f"invalid config for {node.component_type}: {exc}", field=f"nodes.{index}.config") from exc


def _check_retry(retry: RetryIn | None, *, field: str) -> None:
    """Refuse more tries than the operator allows (RQFLOW_RETRY_MAX_ATTEMPTS)."""
    allowed = get_settings().retry_max_attempts
    if retry is not None and retry.max_attempts > allowed:
        raise InvalidInput(f"max_attempts {retry.max_attempts} is more than this server allows ({allowed})",
                           field=f"{field}.max_attempts")


def _stored_retry(retry: RetryIn | None) -> dict[str, Any] | None:
    """The policy as stored; one attempt in all is no retry."""
    return retry.policy().stored() if retry is not None and retry.max_attempts > 1 else None


def _first_location(exc: ValidationError) -> str:
    """Where in the config the first problem is (``.callable``, ``.url``), so the answer names the key."""
    errors = exc.errors()
    location = errors[0]["loc"] if errors else ()
    return "".join(f".{part}" for part in location)


def _replace_graph(db: Session, workflow: Workflow, nodes: list[NodeIn], edges: list[EdgeIn]) -> None:
    """Swap in new nodes and edges; nodes with an unchanged key keep their id (schedules point at it)."""
    existing = {node.key: node for node in workflow.nodes}
    workflow.edges.clear()
    workflow.nodes[:] = [_node_from(existing.get(n.key), n) for n in nodes]
    db.add(workflow)
    db.flush()
    by_key = {node.key: node for node in workflow.nodes}
    for edge in edges:
        workflow.edges.append(WorkflowEdge(source_node_id=by_key[edge.source].id,
                                           target_node_id=by_key[edge.target].id, kind=edge.kind))
    db.flush()


def _node_from(node: WorkflowNode | None, data: NodeIn) -> WorkflowNode:
    node = node or WorkflowNode(key=data.key)
    node.component_type, node.config, node.timeout_seconds = data.component_type, data.config, data.timeout_seconds
    node.retry = _stored_retry(data.retry)
    return node
