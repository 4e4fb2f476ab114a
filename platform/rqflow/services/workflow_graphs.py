"""A stored workflow read as a :class:`rqflow.graph.WorkflowGraph`: two statements, no ORM objects.

The nodes are read joined with their workflow, for its default retry policy.

Every run reads its workflow's graph, so this is on each occurrence's path; the
statements are built once and only bound per call.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from rqflow.graph import GraphEdge, GraphNode, WorkflowGraph
from rqflow.models import Workflow, WorkflowEdge, WorkflowNode
from rqflow.retry_policy import RetryPolicy

NODES = cast(Table, WorkflowNode.__table__)
EDGES = cast(Table, WorkflowEdge.__table__)
WORKFLOWS = cast(Table, Workflow.__table__)

READ_NODES = (select(NODES.c.id, NODES.c.key, NODES.c.component_type, NODES.c.config, NODES.c.timeout_seconds,
                     NODES.c.retry, WORKFLOWS.c.retry.label("workflow_retry"))
              .join(WORKFLOWS, WORKFLOWS.c.id == NODES.c.workflow_id)
              .where(NODES.c.workflow_id == bindparam("workflow_id")).order_by(NODES.c.id))
READ_EDGES = (select(EDGES.c.source_node_id, EDGES.c.target_node_id, EDGES.c.kind)
              .where(EDGES.c.workflow_id == bindparam("workflow_id")).order_by(EDGES.c.id))


def load_graph(db: Session, workflow_id: int) -> WorkflowGraph | None:
    """The workflow's graph, or None if it has no nodes (it was deleted)."""
    connection = db.connection()
    params = {"workflow_id": workflow_id}
    rows = connection.execute(READ_NODES, params).all()
    if not rows:
        return None
    nodes = tuple(GraphNode(row.id, row.key, row.component_type, dict(row.config or {}), row.timeout_seconds,
                            RetryPolicy.from_stored(row.retry)) for row in rows)
    edges = tuple(GraphEdge(row.source_node_id, row.target_node_id, row.kind)
                  for row in connection.execute(READ_EDGES, params))
    return WorkflowGraph(workflow_id, nodes, edges, RetryPolicy.from_stored(rows[0].workflow_retry))
