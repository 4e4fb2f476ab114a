"""The dotted paths the broker stores with every job name the functions that really run."""

from __future__ import annotations

from rq.utils import import_attribute

from rqflow.broker import tasks
from rqflow.jobs.failures import job_failed
from rqflow.jobs.tasks import execute_run, execute_scheduled_trigger


def test_each_path_resolves_to_its_function() -> None:
    assert import_attribute(tasks.FIRE_TASK) is execute_scheduled_trigger
    assert import_attribute(tasks.RUN_TASK) is execute_run
    assert import_attribute(tasks.FAILURE_CALLBACK) is job_failed
