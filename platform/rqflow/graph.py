"""The shape of a workflow: which nodes run after the trigger, and in what order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rqflow.retry_policy import RetryPolicy


@dataclass(frozen=True)
class Edge:
    """``target`` depends on ``source`` (node keys)."""

    source: str
    target: str


@dataclass(frozen=True)
class GraphNode:
    """One node of a stored workflow, as the engine runs it."""

    id: int
    key: str
    component_type: str
    config: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: float | None = None
    retry: RetryPolicy | None = None  # the node's own policy; None: the workflow's


@dataclass(frozen=True)
class GraphEdge:
    """A stored edge between two node ids: ``flow`` (runs after) or ``tool`` (handed to an agent as a tool)."""

    source_node_id: int
    target_node_id: int
    kind: str = "flow"


@dataclass(frozen=True)
class WorkflowGraph:
    """A stored workflow's nodes and edges: what a run needs of it, read once, not as ORM rows."""

    workflow_id: int
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...] = ()
    retry: RetryPolicy | None = None  # the policy of every node that has none of its own

    def retry_of(self, node: GraphNode) -> RetryPolicy | None:
        """How ``node`` is tried again after a failure (None: it is not)."""
        return node.retry or self.retry

    def node(self, key: str) -> GraphNode:
        """The node with this key (KeyError if there is none)."""
        for node in self.nodes:
            if node.key == key:
                return node
        raise KeyError(key)


def downstream_order(trigger: str, keys: Iterable[str], edges: Iterable[Edge]) -> list[str]:
    """The trigger and every node reachable from it, each after all of its reachable parents.

    Ties keep the order the nodes were given in, so a run is reproducible.
    """
    order = list(keys)
    children: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        children[edge.source].append(edge.target)
    reachable = _reachable(trigger, children)
    parents = {key: 0 for key in reachable}
    for source in reachable:
        for target in children[source]:
            parents[target] += 1
    return _kahn([key for key in order if key in reachable], children, parents)


def _reachable(start: str, children: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def _kahn(order: list[str], children: dict[str, list[str]], parents: dict[str, int]) -> list[str]:
    result: list[str] = []
    ready = [key for key in order if parents[key] == 0]
    while ready:
        key = ready.pop(0)
        result.append(key)
        for child in children[key]:
            parents[child] -= 1
            if parents[child] == 0:
                ready.append(child)
        ready.sort(key=order.index)
    return result


def find_cycle(keys: Iterable[str], edges: Iterable[Edge]) -> list[str] | None:
    """A list of keys forming a cycle, or None: a workflow must be acyclic to run."""
    children: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        children[edge.source].append(edge.target)
    state: dict[str, int] = {}
    for key in keys:
        cycle = _visit(key, children, state, [])
        if cycle:
            return cycle
    return None


def _visit(key: str, children: dict[str, list[str]], state: dict[str, int], path: list[str]) -> list[str] | None:
    if state.get(key) == 2:
        return None
    if state.get(key) == 1:
        return path[path.index(key):] + [key]
    state[key] = 1
    path.append(key)
    for child in children[key]:
        cycle = _visit(child, children, state, path)
        if cycle:
            return cycle
    path.pop()
    state[key] = 2
    return None
