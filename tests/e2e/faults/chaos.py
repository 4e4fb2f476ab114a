"""How hard the fault scenarios push, and the tools they push with: signals, process trees, a restartable Redis.

Every count comes from one environment variable, ``RQFLOW_CHAOS_KILLS`` (default
:data:`DEFAULT_KILLS`, the CI variant; ``make chaos`` sets 50): the scheduler is
SIGKILLed that many times, and the rarer faults scale with it (:func:`scaled`).
``RQFLOW_CHAOS_LONG=1`` (set by ``make chaos``) also lets the slow paths run in real
time instead of being fast-forwarded (see ``test_worker_kills``). Random moments
come from one RNG per test, seeded from ``RQFLOW_CHAOS_SEED`` if set, else from the
clock, and the seed is printed so a run can be repeated.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rqflow.local_redis import start_redis_server
from tests.e2e.conftest import Proc

DEFAULT_KILLS = 8
LEADS = "is now the leader"
STEPS_DOWN = "lost the lease"


def kills() -> int:
    """How many times the scheduler is SIGKILLed (``RQFLOW_CHAOS_KILLS``)."""
    return max(1, int(os.environ.get("RQFLOW_CHAOS_KILLS", DEFAULT_KILLS)))


def scaled(per: int, *, least: int = 1, most: int = 1000) -> int:
    """A rarer fault's count: one per ``per`` scheduler kills, at least ``least``, at most ``most``."""
    return max(least, min(most, kills() // per))


def long_variant() -> bool:
    """True under ``make chaos`` (``RQFLOW_CHAOS_LONG=1``): slow recoveries are waited for in real time."""
    return os.environ.get("RQFLOW_CHAOS_LONG", "") == "1"


def budget(base: float, per_fault: float, faults: int) -> float:
    """A pytest-timeout budget for a test with ``faults`` injections (the default 300 s is too short for 50)."""
    return base + per_fault * faults


# -- processes ---------------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Pids of the live processes whose parent is ``pid`` (a forking worker's work horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def sigkill(pid: int) -> None:
    """SIGKILL ``pid`` if it still exists."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def leads(proc: Proc) -> bool:
    """Whether a scheduler's own log says it leads now (it took the lease and has not reported losing it)."""
    log = proc.log()
    return log.rfind(LEADS) > log.rfind(STEPS_DOWN)


def leader(procs: list[Proc], *, exclude: Proc | None = None) -> Proc | None:
    """The one live scheduler whose log says it leads (None if none or several: a handover in progress)."""
    leading = [p for p in procs if p is not exclude and p.alive() and leads(p)]
    return leading[0] if len(leading) == 1 else None


# RQ's line for a job taken off the queue: "Worker <name>: <queue>: <description> (<job id>)",
# at the end of a text line or of a JSON line's "message".
DEQUEUED = re.compile(r"Worker \S+: \S+: (?!Job OK)(?!job ).* \((rqflow-(?:fire|run)-[A-Za-z0-9_-]+)\)(?:$|\")")


def deliveries(worker_logs: list[str]) -> dict[str, int]:
    """How many times workers took each rqflow job off the queue, from RQ's own log lines."""
    counts: dict[str, int] = {}
    for log in worker_logs:
        for line in log.splitlines():
            match = DEQUEUED.search(line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


# -- a Redis that can be restarted -----------------------------------------------------------------------


@dataclass
class RedisServer:
    """A memory-only redis-server of the test's own, on a fixed port, that can crash and come back empty."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again) on the same port; returns once it answers."""
        self.process = start_redis_server(self.port, self.directory)

    def crash(self) -> None:
        """SIGKILL it: without persistence, everything it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
