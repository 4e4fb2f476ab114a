"""Load in the worker's main process, once, what every job would otherwise load for itself.

RQ's default ``Worker`` forks a work horse per job, and the horse inherits the
parent's memory. Whatever the parent has not loaded yet, every horse loads again
and throws away:

- the task module, the components, the workflow engine, Jinja, SQLAlchemy's
  mapper configuration and the list of IANA zone names (``preload_job_modules``:
  about a quarter of a second a job, measured with ``bench/worker_cost.py``);
- SQLAlchemy's compiled form of each statement an occurrence runs, cached per
  engine (``warm_statement_cache``: 25 ms a job on SQLite, 40 ms on PostgreSQL).
"""

from __future__ import annotations

import importlib
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, configure_mappers

from rqflow.components import load_components
from rqflow.db import get_engine
from rqflow.models import ScheduledJob, UserProfile, Workflow, WorkflowNode, utcnow
from rqflow.services.signals import NullSignals
from rqflow.timing.timezones import resolve_timezone

log = logging.getLogger(__name__)

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


def warm_statement_cache(database_url: str | None = None) -> bool:
    """Run one made-up occurrence through claim, workflow and finish, then roll it all back.

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
    """The statements of one scheduled occurrence, in the order a worker runs them."""
    from rqflow.jobs.tasks import schedule_event
    from rqflow.services.occurrences import claim_occurrence, finish_run
    from rqflow.triggers import dispatch_event

    now = utcnow().replace(microsecond=0)
    due = now - timedelta(seconds=1)
    job = _made_up_schedule(db, due=due)
    db.commit()
    db.expunge_all()  # each step of a job reads in a session of its own
    claim = claim_occurrence(db=db, schedule_id=job.id, scheduled_for=due, rq_job_id=None,
                             enqueued_at=None, now=now, signals=NullSignals())
    if claim is None or claim.run_id is None or claim.scheduled_for is None:
        raise LookupError("the made-up occurrence was not claimed")
    db.expunge_all()
    schedule, user = db.get(ScheduledJob, job.id), db.get(UserProfile, job.user_profile_id)
    assert schedule is not None and user is not None
    event = schedule_event(schedule, claim.scheduled_for, trigger_kind="schedule", run_id=claim.run_id)
    dispatch_event("schedule", event, user, db, schedule_run_id=claim.run_id, signals=NullSignals())
    db.expunge_all()
    finish_run(db=db, run_id=claim.run_id, error="", reason="", now=now, signals=NullSignals())


def _made_up_schedule(db: Session, *, due: datetime) -> ScheduledJob:
    """A user, a one-node workflow and an hourly schedule due now, all to be rolled back."""
    user = UserProfile(name=f"warm-up-{uuid.uuid4().hex}")
    db.add(user)
    db.flush()
    workflow = Workflow(user_profile_id=user.id, name="warm-up",
                        nodes=[WorkflowNode(key="trigger", component_type="trigger_schedule", config={})])
    db.add(workflow)
    db.flush()
    job = ScheduledJob(id=str(uuid.uuid4()), name="warm-up", workflow_id=workflow.id, user_profile_id=user.id,
                       schedule_type="interval", interval_seconds=3600, start_at=due, timezone="UTC",
                       status="active", next_run_at=due)
    db.add(job)
    db.flush()
    return job
