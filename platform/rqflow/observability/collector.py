"""The scrape-time collector: cross-process figures, read from the database and Redis when ``/metrics`` is asked.

Workers, schedulers and the web process are separate processes; only the web
process serves ``/metrics``. So nothing here counts in process memory: every
scrape reads the ledger and Redis afresh. A source that is down costs only its
own figures: the scrape still answers, with ``rqflow_metrics_source_up`` 0 for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rqflow.broker.connection import BrokerError
from rqflow.broker.figures import RedisFigures
from rqflow.observability.ledger_figures import ledger_metrics
from rqflow.observability.redis_figures import redis_metrics
from rqflow.settings import Settings

log = logging.getLogger(__name__)


class RqflowCollector(Collector):
    """Reads the ledger and Redis on every scrape."""

    def __init__(self, settings: Settings, *, engine: Callable[[], Engine],
                 redis: Callable[[], RedisFigures]) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis  # reads the figures from Redis (rqflow.broker.figures)

    def collect(self) -> Iterator[Metric]:
        """Every figure its source could give, then which sources answered."""
        up = GaugeMetricFamily("rqflow_metrics_source_up",
                               "1 if this scrape could read the source, 0 if it was unavailable.", labels=["source"])
        for source, read in (("database", self._database), ("redis", self._redis)):
            metrics = _guarded(source, read)
            up.add_metric([source], 0 if metrics is None else 1)
            yield from metrics or []
        yield up

    def _database(self) -> list[Metric]:
        with self.engine().connect() as connection:
            return ledger_metrics(connection)

    def _redis(self) -> list[Metric]:
        return redis_metrics(self.redis(), self.settings)


def _guarded(source: str, read: Callable[[], list[Metric]]) -> list[Metric] | None:
    """The source's figures, or None when it is unavailable (logged, never raised into the scrape)."""
    try:
        return read()
    except (SQLAlchemyError, BrokerError, OSError) as exc:
        log.warning("metrics: %s unavailable: %s", source, exc)
        return None
