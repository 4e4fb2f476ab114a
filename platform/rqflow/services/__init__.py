"""Use cases. Every entry point (API, tools, CLI, worker) is a thin shell over these.

Services take a SQLAlchemy session and keyword-only arguments; they know nothing
of HTTP, Redis or RQ (what the machinery must do after a change they ask of the
:class:`rqflow.signals.SchedulerSignals` they are handed), and raise the domain
errors of :mod:`rqflow.errors`.
"""
