"""The operator command line over the REST API: ``rqflow schedules ...`` and ``rqflow workflows ...``.

It only talks HTTP (``RQFLOW_API_URL``, ``RQFLOW_TOKEN``), so it runs on any machine that can
reach the API, without the database URL or Redis.
"""
