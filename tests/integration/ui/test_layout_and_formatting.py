"""The pure pieces of the dashboard: the graph's layers and how instants and durations read.

(No database; they sit beside the dashboard's other tests.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rqflow.graph import Edge
from rqflow.ui.formatting import local_time, relative_time, seconds_text
from rqflow.ui.graph_layout import layers
from rqflow.ui.session import safe_next

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_each_node_sits_one_column_right_of_its_deepest_parent() -> None:
    edges = [Edge("t", "a"), Edge("t", "b"), Edge("a", "c"), Edge("b", "c"), Edge("t", "c"), Edge("c", "tool")]
    assert layers(["t", "a", "b", "c", "tool", "alone"], edges) == {"t": 0, "a": 1, "b": 1, "c": 2, "tool": 3,
                                                                   "alone": 0}


def test_a_cycle_does_not_hang_the_layout() -> None:
    assert set(layers(["a", "b"], [Edge("a", "b"), Edge("b", "a")])) == {"a", "b"}


def test_instants_read_in_the_schedules_zone_and_relative_to_now() -> None:
    assert local_time(NOW, "Europe/Berlin") == "2026-11-24 10:00:00 CET"
    assert local_time(None) == "—"
    assert relative_time(NOW + timedelta(minutes=3, seconds=20), NOW) == "in 3 min"
    assert relative_time(NOW - timedelta(seconds=12), NOW) == "12 s ago"
    assert relative_time(NOW + timedelta(days=2, hours=5), NOW) == "in 2 d"
    assert relative_time(NOW + timedelta(milliseconds=300), NOW) == "now"


def test_durations() -> None:
    assert seconds_text(0.0812) == "81 ms"
    assert seconds_text(-0.0001) == "0 ms"
    assert seconds_text(12.345) == "12.3 s"
    assert seconds_text(None) == "—"


def test_sign_in_only_returns_inside_the_dashboard() -> None:
    assert safe_next("/ui/schedules/abc?x=1") == "/ui/schedules/abc?x=1"
    for target in ("https://evil.example", "//evil.example", "/ui\\\\evil", "/api/v1", "", None):
        assert safe_next(target) == "/ui/schedules"
