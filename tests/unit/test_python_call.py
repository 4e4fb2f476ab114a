"""Which dotted paths a python_call node may call: the operator's list, and nothing else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rqflow.components.python_call import CallableNotAllowed, is_allowed, resolve_callable
from rqflow.settings import Settings, get_settings


@pytest.mark.parametrize(("path", "allowed", "expected"), [
    ("reports.jobs:nightly", ["reports.jobs.nightly"], True),
    ("reports.jobs:nightly", ["reports.jobs.*"], True),
    ("reports.jobs.sub:task", ["reports.jobs.*"], True),
    ("reports.jobsx:task", ["reports.jobs.*"], False),  # a prefix is a whole module name, not a string prefix
    ("reports.jobs", ["reports.jobs.*"], False),
    ("subprocess.run", ["reports.*"], False),
    ("subprocess:run", [], False),
])
def test_exact_paths_and_module_prefixes(path: str, allowed: list[str], expected: bool) -> None:
    assert is_allowed(path, allowed) is expected


def test_the_setting_is_a_comma_separated_list_normalised_to_dots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RQFLOW_PYTHON_CALLABLES", " reports.jobs:nightly , billing.*,")
    assert Settings().python_callables == ["reports.jobs.nightly", "billing.*"]


@pytest.mark.parametrize("entry", ["*", "os.*.x", "subprocess.run; rm", "a b", ".x", "billing.*.*"])
def test_the_setting_refuses_what_is_not_a_path(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setenv("RQFLOW_PYTHON_CALLABLES", entry)
    with pytest.raises(ValidationError, match="RQFLOW_PYTHON_CALLABLES"):
        Settings()


def test_the_default_allows_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RQFLOW_PYTHON_CALLABLES", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(CallableNotAllowed, match="disabled"):
            resolve_callable("json.dumps")
    finally:
        get_settings.cache_clear()


def test_a_function_merely_imported_into_an_allowed_module_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tests.unit.test_python_call`` imports ``is_allowed`` from rqflow: reachable by path, defined elsewhere."""
    monkeypatch.setenv("RQFLOW_PYTHON_CALLABLES", "tests.unit.test_python_call.*")
    get_settings.cache_clear()
    try:
        assert resolve_callable("tests.unit.test_python_call:target") is target
        with pytest.raises(CallableNotAllowed, match="rqflow.components.python_call.is_allowed"):
            resolve_callable("tests.unit.test_python_call:is_allowed")
    finally:
        get_settings.cache_clear()


def target(event: dict[str, object]) -> dict[str, object]:
    """A function defined in this module, so the allowed path and its definition agree."""
    return event
