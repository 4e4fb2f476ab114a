"""Logging is process-wide: tests that configure it get the previous state back afterwards."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

_TOUCHED = ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.job")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back the root's and the touched loggers' handlers, levels and propagation."""
    root = logging.getLogger()
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate)
             for logger in [root, *(logging.getLogger(name) for name in _TOUCHED)]]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    logging.captureWarnings(False)
