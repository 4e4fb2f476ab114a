"""The Prometheus families of the figures read from Redis at scrape time (:mod:`rqflow.broker.figures`)."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from rqflow.broker.figures import RedisFigures
from rqflow.settings import Settings

# Always reported, so dashboards see a zero rather than no series.
WORKER_STATES = ("busy", "idle")


def redis_metrics(figures: RedisFigures, settings: Settings) -> list[Metric]:
    """Everything ``/metrics`` reports from Redis."""
    return [*_firing(figures), *_scheduler(figures, settings), _timers(figures), *_queues(figures),
            *_llm(figures)]


def _llm(figures: RedisFigures) -> list[Metric]:
    tokens = CounterMetricFamily("rqflow_llm_tokens", "Tokens of agent nodes' model calls, by model and kind "
                                 "(prompt, completion); recorded by workers in Redis.", labels=["model", "kind"])
    cost = CounterMetricFamily("rqflow_llm_cost_usd", "What agent nodes' model calls cost, in US dollars, by model "
                               "(RQFLOW_LLM_PRICES); recorded by workers in Redis.", labels=["model"])
    for (kind, model), total in sorted(figures.llm_usage.items()):
        if kind == "cost_usd":
            cost.add_metric([model], total)
        else:
            tokens.add_metric([model, kind], total)
    return [tokens, cost]


def _firing(figures: RedisFigures) -> list[Metric]:
    lateness = HistogramMetricFamily(
        "rqflow_fire_lateness_seconds",
        "How late runs started (started_at - scheduled_for), by trigger kind; recorded by workers in Redis.",
        labels=["trigger"])
    for kind, histogram in figures.lateness.items():
        lateness.add_metric([kind], histogram.buckets, histogram.sum)
    duplicates = CounterMetricFamily(
        "rqflow_duplicate_deliveries_suppressed",
        "Deliveries of an occurrence the exactly-once claim refused (stale or already claimed); kept in Redis.",
        value=figures.duplicates)
    return [lateness, duplicates]


def _scheduler(figures: RedisFigures, settings: Settings) -> list[Metric]:
    remaining = figures.lease_remaining_seconds
    leader = GaugeMetricFamily("rqflow_scheduler_leader", "1 while a scheduler process holds the lease, else 0.",
                               value=0 if remaining is None else 1)
    if remaining is None or remaining < 0:
        return [leader]
    age = GaugeMetricFamily(
        "rqflow_scheduler_heartbeat_age_seconds",
        "Seconds since the leading scheduler last renewed its lease (RQFLOW_LEASE_SECONDS minus its time left).",
        value=max(0.0, settings.lease_seconds - remaining))
    return [leader, age]


def _timers(figures: RedisFigures) -> Metric:
    return GaugeMetricFamily("rqflow_timers_registered",
                             "rqflow's timers in rq-scheduler's sorted set; compare with "
                             "rqflow_schedules{status=\"active\"}.", value=figures.timers)


def _queues(figures: RedisFigures) -> list[Metric]:
    """Depth and workers of the scheduled queue and the bulk one (manual runs, backfills)."""
    depth = GaugeMetricFamily("rqflow_queue_jobs", "Jobs waiting on the RQ queue (Queue.count).", labels=["queue"])
    workers = GaugeMetricFamily("rqflow_workers", "RQ workers listening on the queue, by state (Worker.all).",
                                labels=["queue", "state"])
    for queue in figures.queues:
        depth.add_metric([queue.name], queue.jobs)
        for state in [*WORKER_STATES, *sorted(set(queue.workers) - set(WORKER_STATES))]:
            workers.add_metric([queue.name, state], queue.workers.get(state, 0))
    return [depth, workers]
