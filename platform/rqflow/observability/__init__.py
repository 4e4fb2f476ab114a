"""Observability: structured logs with per-event ids, and the Prometheus metrics the web process serves.

- :mod:`.context`: the ids a log line carries (schedule, occurrence, run, RQ job, request).
- :mod:`.logs`: one handler per process, JSON or text, that every library logs through.
- :mod:`.collector`: cross-process figures, read at scrape time from the database and from Redis
  (:mod:`rqflow.broker.figures`, which also holds what workers record there).
- :mod:`.request_id` and :mod:`.http_metrics`: ASGI middleware of the API.
- :mod:`.web`: wires the above into the FastAPI app and serves ``/metrics``.
"""
