"""The forking worker never shares a TLS connection, and stops trying once it has seen one."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Self

from rqflow.jobs import forking_worker


@dataclass
class StubPool:
    connections: int = 0

    def checkedin(self) -> int:
        return self.connections


@dataclass
class StubEngine:
    """An engine whose connections report TLS, counting what the worker does with it."""

    dialect: Any = field(default_factory=lambda: SimpleNamespace(name="postgresql"))
    pool: StubPool = field(default_factory=StubPool)
    connects: int = 0
    invalidated: int = 0
    disposed: int = 0

    def connect(self) -> Any:
        self.connects += 1
        engine = self

        class Connection:
            connection = SimpleNamespace(dbapi_connection=SimpleNamespace(pgconn=SimpleNamespace(ssl_in_use=True)))

            def invalidate(self) -> None:
                engine.invalidated += 1

            def __enter__(self) -> Self:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

        return Connection()

    def dispose(self) -> None:
        self.disposed += 1


def test_a_tls_connection_is_closed_and_never_asked_for_again() -> None:
    engine = StubEngine()
    for _ in range(3):
        forking_worker.prepare_for_fork(engine)  # type: ignore[arg-type]
    assert (engine.connects, engine.invalidated) == (1, 1), "one look, then the horses connect on their own"
