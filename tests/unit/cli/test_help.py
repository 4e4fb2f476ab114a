"""``--help`` reads as plain words: typer shows docstrings and help texts as they are (rich mode), so the
reStructuredText or Markdown backticks of a docstring would show raw (``dashboard``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from rqflow.cli import app


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group under ``command``, as the words that reach it."""
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


@pytest.mark.parametrize("path", list(command_paths(typer.main.get_command(app))), ids=" ".join)
def test_help_shows_no_backticks(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})

    assert result.exit_code == 0, result.output
    assert "`" not in result.output, result.output


def test_table_commands_offer_wide() -> None:
    for path in (["schedules", "list"], ["schedules", "runs"], ["schedules", "notifications"],
                 ["workflows", "list"], ["workflows", "runs"], ["user", "tokens"]):
        assert "--wide" in CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"}).output, path
