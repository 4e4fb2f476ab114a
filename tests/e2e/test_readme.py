"""The README's walk-through, run as written against real web, scheduler and worker processes.

The shell blocks of "A first schedule with curl" and "The command line" are read from
README.md and run command by command, in order, in bash, from the repository's root, as a
newcomer pastes them: variables a command sets (``TOKEN``, ``AUTH``, ``RQFLOW_TOKEN``, ``PATH``)
are kept for the next ones. Only what the README tells a reader to fill in is filled in: the
port (``localhost:8000`` is where ``make run`` serves; here a free port), ``ID`` (a schedule's
id, from the answers above it) and ``RUN_ID`` (a workflow run's id). Every command must
succeed (``curl`` is given ``--fail-with-body``, so a 4xx or 5xx fails it), and what the README
says a command answers is checked.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import REPO_ROOT, Stack
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

README = REPO_ROOT / "README.md"
# Every curl the README shows fails on an HTTP error answer, as a reader would notice one.
PRELUDE = 'curl() { command curl --fail-with-body --show-error "$@"; }\n'
ASSIGNED = re.compile(r"^(?:export\s+)?([A-Z_][A-Z0-9_]*)=", re.MULTILINE)


def bash_block(section: str) -> str:
    """The first ```bash block under the README's ``## <section>`` heading."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    block = text.index("```bash\n", start) + len("```bash\n")
    return text[block:text.index("```", block)]


def commands(block: str) -> list[str]:
    """The block's commands, one each, joined across ``\\`` line ends and quotes left open; comments dropped."""
    found: list[str] = []
    current: list[str] = []
    for line in block.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        text = "\n".join(current)
        if not line.rstrip().endswith("\\") and not quote_open(text):
            found.append(text)
            current = []
    assert not current, f"a command never ends: {current}"
    return found


def quote_open(text: str) -> bool:
    """Whether bash would still be inside a quoted string at the end of ``text`` (comments skipped)."""
    single = double = escaped = comment = False
    previous = "\n"
    for char in text:
        if comment:
            comment = char != "\n"
        elif escaped:
            escaped = False
        elif char == "\\" and not single:
            escaped = True
        elif char == "'" and not double:
            single = not single
        elif char == '"' and not single:
            double = not double
        elif char == "#" and not (single or double) and previous.isspace():
            comment = True
        previous = char
    return single or double


@dataclass(frozen=True)
class Ran:
    """One command's exit status and output (stdout and stderr together, as a terminal shows them)."""

    command: str
    status: int
    output: str

    def json(self) -> Any:
        return json.loads(self.output)


class Shell:
    """Runs one command at a time in bash from the repository's root, keeping the variables the README sets."""

    def __init__(self, env: dict[str, str], state: Path, names: set[str]) -> None:
        self.env, self.state, self.names = env, state, sorted(names)
        state.write_text("")

    def run(self, command: str) -> Ran:
        script = (f"{PRELUDE}source {self.state}\n{command}\nstatus=$?\n"
                  f"declare -p {' '.join(self.names)} > {self.state} 2>/dev/null\nexit $status\n")
        done = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, env=self.env, input="y\n", text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
        return Ran(command, done.returncode, done.stdout)


def newest_schedule(api: httpx.Client, name: str) -> str:
    items = api.get("/api/v1/schedules", params={"name": name, "limit": 500}).json()["items"]
    return str(max((item for item in items if item["name"] == name), key=lambda item: item["created_at"])["id"])


def newest_workflow_run(api: httpx.Client) -> str:
    def found() -> str | None:
        runs = api.get("/api/v1/workflows/1/runs").json()["items"]
        return str(runs[0]["id"]) if runs else None
    return wait_for(found, timeout=30, interval=0.2, what="a workflow run to exist")


def walk(shell: Shell, block: str, fill: Callable[[str], str], checks: dict[str, Callable[[Ran], None]]) -> int:
    """Run every command of ``block`` with its placeholders filled; apply the check whose key it contains."""
    count = 0
    for written in commands(block):
        ran = shell.run(fill(written))
        assert ran.status == 0, f"the README's command failed ({ran.status}):\n{ran.command}\n---\n{ran.output}"
        for snippet, check in checks.items():
            if snippet in written:
                check(ran)
        count += 1
    return count


def test_the_readme_walk_through_works_as_written(stack: Stack, tmp_path: Path) -> None:
    base = stack.start_all()
    curl_block, cli_block = bash_block("A first schedule with curl"), bash_block("The command line")
    env = {**stack.env, "RQFLOW_API_URL": base, "COLUMNS": "100"}
    shell = Shell(env, tmp_path / "state.sh", set(ASSIGNED.findall(curl_block + cli_block)))
    port = base.rpartition(":")[2]
    token: dict[str, str] = {}

    def api() -> httpx.Client:
        if not token:
            token["value"] = shell.run('printf %s "$TOKEN"').output
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['value']}"}, timeout=10)

    def fill_curl(command: str) -> str:
        command = command.replace("localhost:8000", f"127.0.0.1:{port}")
        if re.search(r"\bID\b", command):
            command = re.sub(r"\bID\b", newest_schedule(api(), "morning"), command)
        if "RUN_ID" in command:
            command = command.replace("RUN_ID", newest_workflow_run(api()))
        return command

    def fill_cli(command: str) -> str:
        return re.sub(r"\bID\b", newest_schedule(api(), "minutely"), command) if re.search(r"\bID\b", command) \
            else command

    curl_checks: dict[str, Callable[[Ran], None]] = {
        "user create alice": lambda ran: None,
        "/api/v1/workflows -H": lambda ran: _equal(ran.json()["id"], 1),
        '"name": "morning"': lambda ran: _contains(ran.json()["cadence"], "Monday through Friday"),
        "/schedules/preview": lambda ran: _equal(len(ran.json()["occurrences"]), 3),
        "# list (filter": lambda ran: _equal({s["name"] for s in ran.json()["items"]}, {"morning", "minutely"}),
        '"reason": "maintenance"': lambda ran: _equal((ran.json()["status"], ran.json()["paused_until"]),
                                                      ("paused", "2030-01-01T05:00:00Z")),
        "/resume": lambda ran: _equal(ran.json()["status"], "active"),
        "/trigger": lambda ran: _equal(ran.json()["trigger_kind"], "manual"),
        "/backfill": lambda ran: _at_least(ran.json()["count"], 1),
        "/history": lambda ran: _at_least(len(ran.json()["items"]), 4),
        "/stop": lambda ran: _equal(ran.json()["status"], "stopped"),
        "workflow-runs/": lambda ran: _at_least(len(ran.json()["node_runs"]), 1),
    }
    cli_checks: dict[str, Callable[[Ran], None]] = {
        "schedules list": lambda ran: _contains(ran.output, "minutely"),
        "schedules show": lambda ran: _contains(ran.output, "Every minute"),
        "schedules delete": lambda ran: _contains(ran.output.lower(), "deleted"),
    }
    ran_curl = walk(shell, curl_block, fill_curl, curl_checks)
    ran_cli = walk(shell, cli_block, fill_cli, cli_checks)
    assert (ran_curl, ran_cli) == (len(commands(curl_block)), len(commands(cli_block))) and ran_cli >= 10


def _equal(got: object, want: object) -> None:
    assert got == want


def _at_least(got: int, least: int) -> None:
    assert got >= least


def _contains(text: str, part: str) -> None:
    assert part in text, text
