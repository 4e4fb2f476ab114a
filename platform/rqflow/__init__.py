"""rqflow: workflows on schedules, over RQ and rq-scheduler."""

__version__ = "0.1.0"
