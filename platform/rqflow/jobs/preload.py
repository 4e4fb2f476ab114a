"""Load in the worker's main process, once, what every job would otherwise load for itself.

RQ's default ``Worker`` forks a work horse per job, and the horse inherits the
parent's memory. Whatever the parent has not loaded yet, every horse loads again
and throws away:

- the task module, the components, the workflow engine, Jinja, SQLAlchemy's
  mapper configuration, the list of IANA zone names and the fire-job template
  (``preload_job_modules``: about a quarter of a second a job, measured with
  ``bench/worker_cost.py``);
- SQLAlchemy's compiled form of each statement an occurrence runs, cached per
  engine (``warm_statement_cache``: 25 ms a job on SQLite, 40 ms on PostgreSQL).
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, configure_mappers

from rqflow.broker.timers import TimerOptions, fire_job_template
from rqflow.components import load_components
from rqflow.db import get_engine
from rqflow.models import Schedule, UserProfile, Workflow, WorkflowNode, utcnow
from rqflow.settings import get_settings
from rqflow.signals import NullSignals
from rqflow.timing.timezones import resolve_timezone

log = logging.getLogger(__name__)

# Modules a job imports lazily (inside functions) that are worth having before the fork.
JOB_MODULES = (
    "rqflow.jobs.tasks",
    "rqflow.worker.occurrence",
    "rqflow.engine.runner",
    "rqflow.components.templates",
    "rqflow.worker.dispatch",
    "rqflow.services.occurrences",
)


def preload_job_modules() -> None:
    """Import the task and everything it reaches, and configure the ORM mappers, in this process."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    load_components()
    configure_mappers()
    resolve_timezone("UTC")  # fills the cached list of zone names every occurrence checks against
    fire_job_template(TimerOptions.from_settings(get_settings()))  # the next timer each occurrence arms


def warm_statement_cache(database_url: str | None = None) -> bool:
    """Run one made-up occurrence through the job's own code (claim, workflow, finish), then roll it all back.

    Every write happens in savepoints of one outer transaction that is rolled
    back, and its signals go nowhere, so nothing is left in the database or in
    Redis; what stays is the engine's cache of compiled statements, which the
    forked horses inherit. A failure only costs the speed-up: it is logged and
    the worker starts anyway.
    """
    engine = get_engine(database_url)
    logging.disable(logging.INFO)  # the made-up run's own log lines would read like a real one's
    try:
        with engine.connect() as connection:
            outer = connection.begin()
            try:
                with Session(bind=connection, join_transaction_mode="create_savepoint",
                             expire_on_commit=False) as db:
                    _one_occurrence(db)
            finally:
                outer.rollback()
    except (SQLAlchemyError, LookupError, ValueError) as exc:
        log.warning("statement cache not warmed (each job compiles its statements): %s", exc)
        return False
    finally:
        logging.disable(logging.NOTSET)
        engine.dispose()  # the horses open their own connections; the compiled statements stay
    return True


def _one_occurrence(db: Session) -> None:
    """One scheduled occurrence, through the same code a job runs (:func:`rqflow.worker.occurrence.fire`)."""
    from rqflow.worker.occurrence import Delivery, fire

    now = utcnow().replace(microsecond=0)
    due = now - timedelta(seconds=1)
    schedule = _made_up_schedule(db, due=due)
    db.commit()
    db.expunge_all()

    @contextmanager
    def step() -> Iterator[Session]:
        """Each step of a job has a session of its own; here, a savepoint of the shared one, emptied after."""
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.expunge_all()

    outcome = fire(schedule.id, due, delivery=Delivery(), signals=NullSignals(), sessions=step)
    if not outcome.started or outcome.error:
        raise LookupError(f"the made-up occurrence did not run: {outcome}")


def _made_up_schedule(db: Session, *, due: datetime) -> Schedule:
    """A user, a one-node workflow and an hourly schedule due now, all to be rolled back."""
    user = UserProfile(name=f"warm-up-{uuid.uuid4().hex}")
    db.add(user)
    db.flush()
    workflow = Workflow(user_profile_id=user.id, name="warm-up",
                        nodes=[WorkflowNode(key="trigger", component_type="trigger_schedule", config={})])
    db.add(workflow)
    db.flush()
    schedule = Schedule(id=str(uuid.uuid4()), name="warm-up", workflow_id=workflow.id, user_profile_id=user.id,
                       schedule_type="interval", interval_seconds=3600, start_at=due, timezone="UTC",
                       status="active", next_run_at=due)
    db.add(schedule)
    db.flush()
    return schedule
