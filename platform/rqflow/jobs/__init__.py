"""What RQ runs: the tasks timers and queued runs name, the failure callbacks, and the worker's warm-up.

Their dotted paths are stored with every job in Redis, so they never move. Each is an
adapter over :mod:`rqflow.worker` and the services; Redis and RQ themselves are
:mod:`rqflow.broker`'s.
"""
