"""The faults the outage scenarios inject, each a small object with an obvious on/off.

- :class:`PostgresServer`: a PostgreSQL server of the tests' own (``initdb`` into a
  temporary folder, ``pg_ctl start`` on a free port, trust auth), which a test may
  stop (``pg_ctl stop -m fast``: every connection is cut) and start again.
- :class:`SqliteLockHolder`: another process holding SQLite's write lock
  (``BEGIN IMMEDIATE``) until told to let go.
- :class:`FakeClock`: the environment that runs a process under libfaketime (the
  library the ``libfaketime`` wheel ships), with an offset a test changes while the
  process runs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Waiting for pg_ctl to start or stop the server.
PG_CTL_WAIT_SECONDS = 60
# Server settings for a throwaway test cluster: durability off, enough connections for many processes.
PG_OPTIONS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
              "-c max_connections=300")
# PostgreSQL refuses to run as root; under root the cluster belongs to the first of these users that exists.
PG_OS_USERS = ("postgres", "nobody")


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest Debian install."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0)
    return candidates[-1].parent if candidates else None


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in ``base`` listening on 127.0.0.1:``port``."""

    bin_dir: Path
    base: Path
    port: int
    os_user: str | None  # set when the tests run as root

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def create(cls, bin_dir: Path, port: int) -> PostgresServer:
        """``initdb`` a new cluster in a fresh temporary folder (not started)."""
        os_user = _unprivileged_user() if os.geteuid() == 0 else None
        base = Path(tempfile.mkdtemp(prefix="rqflow-outage-pg-"))
        if os_user is not None:
            entry = pwd.getpwnam(os_user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        server = cls(bin_dir=bin_dir, base=base, port=port, os_user=os_user)
        server._run("initdb", "-D", str(server.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--no-sync", "--no-instructions")
        return server

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", str(PG_CTL_WAIT_SECONDS),
                  "-o", f"-p {self.port} -k {self.base} {PG_OPTIONS}", "start")

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back and every client is disconnected."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", str(PG_CTL_WAIT_SECONDS), "stop")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False).returncode == 0

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if self.data_dir.exists() and self.running():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(self.bin_dir / program), *args], capture_output=True, text=True,
                              user=self.os_user, cwd=self.base, timeout=PG_CTL_WAIT_SECONDS + 30, check=False)
        if check and done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n"
                               f"{done.stderr}\n{log}")
        return done


def _unprivileged_user() -> str:
    for name in PG_OS_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError(f"running as root, and none of the users {PG_OS_USERS} exists to run PostgreSQL")


_HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=120)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
print("released", flush=True)
"""


class SqliteLockHolder:
    """Another process that takes SQLite's write lock (``BEGIN IMMEDIATE``) and holds it until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "locked":
            self.process.kill()
            raise RuntimeError(f"the lock holder did not take the lock: {line!r}")
        self.locked_at = time.monotonic()

    def release(self) -> None:
        """Roll back (which ends the lock) and let the process exit."""
        if self.process.poll() is not None:
            return
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline().strip()
        self.process.wait(timeout=30)
        if line != "released":
            raise RuntimeError(f"the lock holder did not release cleanly: {line!r}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class FakeClock:
    """libfaketime for one process: its wall clock is the real one plus an offset a test may change any time.

    The offset lives in a file that libfaketime reads on every clock call
    (``FAKETIME_NO_CACHE``); the monotonic clock stays real (``DONT_FAKE_MONOTONIC``),
    as it does when a real wall clock is stepped.
    """

    def __init__(self, folder: Path) -> None:
        import libfaketime  # a dev dependency: its wheel ships libfaketime.so.1

        _needs_reexec, additions = libfaketime.get_reload_information()
        self.file = folder / "faketime-offset"
        self.set_offset(0)
        self.env = {**additions, "FAKETIME_TIMESTAMP_FILE": str(self.file), "FAKETIME_NO_CACHE": "1",
                    "DONT_FAKE_MONOTONIC": "1"}

    def set_offset(self, seconds: int) -> None:
        """From now on the process reads real time plus ``seconds``."""
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(f"{seconds:+d}\n")
        tmp.replace(self.file)  # never a half-written file for libfaketime to read
