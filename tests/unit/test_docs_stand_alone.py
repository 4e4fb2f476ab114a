"""The README and docs/ point only at files in the repository, and nothing cites the team's notes outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A path written in backquotes that starts with one of the repository's top-level folders or files (a
# `<placeholder>` in it is a pattern, not a file).
REPO_PATH = re.compile(r"`((?:platform|docs|tests|bench|alembic|\.ci)/[^`\s]*|Makefile|Procfile|pyproject\.toml|"
                       r"requirements\.txt)`")
OUTSIDE = re.compile(r"\.\./shared|RQ-NOTES")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_path_a_document_names_exists(document: Path) -> None:
    named = {match.rstrip(".,:;") for match in REPO_PATH.findall(document.read_text()) if "<" not in match}
    missing = sorted(path for path in named if not any(ROOT.glob(path.split("::")[0])))
    assert not missing, f"{document.name} names files the repository does not have: {missing}"


def test_nothing_cites_notes_outside_the_repository() -> None:
    sources = [*DOCUMENTS, *ROOT.joinpath("platform").rglob("*.py"), *ROOT.joinpath("platform").rglob("*.html")]
    citing = sorted(str(path.relative_to(ROOT)) for path in sources if OUTSIDE.search(path.read_text()))
    assert not citing, f"these cite material outside the repository: {citing}"
