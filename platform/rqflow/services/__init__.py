"""Use cases. Every entry point (API, tools, CLI, worker) is a thin shell over these.

Services take a SQLAlchemy session and keyword-only arguments; they know nothing
of HTTP or RQ, and raise the domain errors of :mod:`rqflow.errors`.
"""
