"""Workflow graph ordering and cycle detection."""

from __future__ import annotations

from rqflow.graph import Edge, downstream_order, find_cycle


def test_downstream_order_runs_each_node_after_its_parents_and_skips_unreachable() -> None:
    keys = ["t", "a", "b", "join", "other"]
    edges = [Edge("t", "b"), Edge("t", "a"), Edge("a", "join"), Edge("b", "join"), Edge("other", "join")]
    assert downstream_order("t", keys, edges) == ["t", "a", "b", "join"]


def test_a_lone_trigger_runs_alone() -> None:
    assert downstream_order("t", ["t", "x"], []) == ["t"]


def test_find_cycle() -> None:
    assert find_cycle(["a", "b", "c"], [Edge("a", "b"), Edge("b", "c")]) is None
    assert find_cycle(["a", "b", "c"], [Edge("a", "b"), Edge("b", "c"), Edge("c", "b")]) == ["b", "c", "b"]
    assert find_cycle(["a"], [Edge("a", "a")]) == ["a", "a"]
