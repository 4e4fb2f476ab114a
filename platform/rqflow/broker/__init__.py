"""Everything rqflow keeps in Redis and RQ: connections and queues, timers, the lease, the wake channel,
the signals services send, and the figures workers record. Nothing else in rqflow imports ``redis``
or ``rq`` except the processes' entry points (:mod:`rqflow.jobs`, :mod:`rqflow.scheduler`, the CLI)."""
