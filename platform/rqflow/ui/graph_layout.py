"""A workflow drawn as layers: each node one column right of its deepest parent, edges as curves.

Laid out on the server so the page is a plain inline SVG (no drawing library in
the browser). Node colours and labels come from the component registry, the
same palette ``GET /api/v1/components`` gives editors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rqflow.components import load_components
from rqflow.graph import Edge
from rqflow.models import Workflow
from rqflow.services.workflows import edge_keys

NODE_WIDTH = 180
NODE_HEIGHT = 56
COLUMN_GAP = 72
ROW_GAP = 28
MARGIN = 16
# Unknown component types (a module removed since the workflow was saved) are drawn in grey.
UNKNOWN_COLOR = "#64748b"


@dataclass(frozen=True)
class PlacedNode:
    """A node's box: top-left corner, colour and the two lines of text."""

    key: str
    label: str
    color: str
    x: int
    y: int
    status: str


@dataclass(frozen=True)
class PlacedEdge:
    """An edge as an SVG path; ``kind`` is ``flow`` or ``tool`` (drawn dashed)."""

    path: str
    kind: str


@dataclass(frozen=True)
class Drawing:
    """Everything the SVG template needs."""

    width: int
    height: int
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]


def layers(keys: list[str], edges: list[Edge]) -> dict[str, int]:
    """Each node's column: one past its deepest parent (longest path), so every edge points right."""
    column = dict.fromkeys(keys, 0)
    for _ in keys:  # a DAG settles within one pass per node; the bound also ends a cycle
        moved = False
        for edge in edges:
            if column[edge.target] < column[edge.source] + 1:
                column[edge.target] = column[edge.source] + 1
                moved = True
        if not moved:
            break
    return column


def draw_workflow(workflow: Workflow, statuses: dict[str, str] | None = None) -> Drawing:
    """Place the workflow's nodes and edges; ``statuses`` (by node key) outline a run's outcome."""
    keys = [node.key for node in workflow.nodes]
    wires = edge_keys(workflow)
    column = layers(keys, [Edge(source, target) for source, target, _kind in wires])
    rows: dict[int, int] = defaultdict(int)
    palette = load_components()
    nodes: dict[str, PlacedNode] = {}
    for node in workflow.nodes:
        layer = column[node.key]
        component = palette.get(node.component_type)
        nodes[node.key] = PlacedNode(
            key=node.key, label=(component.label if component else "") or node.component_type,
            color=component.color if component else UNKNOWN_COLOR,
            x=MARGIN + layer * (NODE_WIDTH + COLUMN_GAP), y=MARGIN + rows[layer] * (NODE_HEIGHT + ROW_GAP),
            status=(statuses or {}).get(node.key, ""),
        )
        rows[layer] += 1
    edges = [PlacedEdge(path=_curve(nodes[source], nodes[target]), kind=kind) for source, target, kind in wires]
    width = max(n.x for n in nodes.values()) + NODE_WIDTH + MARGIN if nodes else 2 * MARGIN
    height = max(n.y for n in nodes.values()) + NODE_HEIGHT + MARGIN if nodes else 2 * MARGIN
    return Drawing(width=width, height=height, nodes=list(nodes.values()), edges=edges)


def _curve(source: PlacedNode, target: PlacedNode) -> str:
    """A horizontal S-curve from the source's right side to the target's left side."""
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x - 6, target.y + NODE_HEIGHT // 2  # stop short so the arrowhead shows
    middle = (x1 + x2) // 2
    return f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"
