"""Load in the worker's main process, once, what every job would otherwise load for itself.

RQ's default ``Worker`` forks a work horse per job, and the horse inherits the
parent's memory. Whatever the parent has not imported yet, every horse imports
again and throws away: the task module, the components, the workflow engine,
Jinja, SQLAlchemy's mapper configuration, the list of IANA zone names (a scan of
the zone database, 15 ms). Measured with ``bench/worker_cost.py``,
that was about a quarter of a second a job on a forking worker.
"""

from __future__ import annotations

import importlib

from sqlalchemy.orm import configure_mappers

from rqflow.components import load_components
from rqflow.timing.timezones import resolve_timezone

# Modules a job imports lazily (inside functions) that are worth having before the fork.
JOB_MODULES = (
    "rqflow.jobs.tasks",
    "rqflow.engine.runner",
    "rqflow.engine.templates",
    "rqflow.triggers",
    "rqflow.services.occurrences",
)


def preload_job_modules() -> None:
    """Import the task and everything it reaches, and configure the ORM mappers, in this process."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    load_components()
    configure_mappers()
    resolve_timezone("UTC")  # fills the cached list of zone names every occurrence checks against
