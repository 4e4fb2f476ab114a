"""The dotted paths of the functions rqflow's jobs run, as RQ stores them with every job.

The functions live above the broker (:mod:`rqflow.jobs`), which imports the broker, so the
broker names them by path; ``tests/unit/test_task_paths.py`` checks that every path resolves
to its function. The paths never change: jobs already in Redis carry them.
"""

from __future__ import annotations

FIRE_TASK = "rqflow.jobs.tasks.execute_scheduled_trigger"  # a timer's occurrence, when it comes due
RUN_TASK = "rqflow.jobs.tasks.execute_run"  # a ledger row queued on its own (run now, backfill, hand-over)
CONTINUE_TASK = "rqflow.jobs.tasks.execute_continuation"  # a run that waited for a retry, when its timer comes
NOTIFY_TASK = "rqflow.jobs.tasks.execute_notification"  # a try at a notification, when its timer comes
FAILURE_CALLBACK = "rqflow.jobs.failures.job_failed"  # RQ's on_failure callback of every job
