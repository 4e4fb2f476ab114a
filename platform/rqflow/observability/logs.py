"""One log handler per process, on stderr, that every library logs through.

``RQFLOW_LOG_FORMAT``: ``json`` writes one JSON object a line (what a log shipper
wants), ``text`` a line for people, ``auto`` (the default) text when stderr is a
terminal and JSON otherwise. Either way each line carries the ids bound in
:mod:`rqflow.observability.context`.

Libraries that bring their own handlers are made to use this one instead, so no
line is printed twice or in a second format:

- uvicorn installs its handlers from ``log_config`` unless that is ``None``
  (``rqflow web`` and ``rqflow mcp --transport http`` pass ``None``); its
  loggers then propagate here.
- RQ's ``Worker.work`` adds its own handlers to ``rq.worker`` and ``rq.job`` only
  when no handler up the logger tree would catch their lines; the root handler
  installed here does, so RQ logs through it.
- The MCP SDK calls ``logging.basicConfig``, which does nothing once the root has a handler.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from rqflow.observability.context import FIELDS, ContextFilter
from rqflow.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Renamed in JSON to the names log shippers look for first.
JSON_RENAMES = {"levelname": "level", "name": "logger"}
# uvicorn attaches a copy of each message with terminal colour codes; JSON readers want only the plain one.
JSON_DROPPED = ("color_message",)
# Loggers that would otherwise keep handlers of their own.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.job")


class TextFormatter(logging.Formatter):
    """The usual one-line format, followed by whichever ids the record carries."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        head = escape_controls(logging.Formatter.format(self, _without_traceback(record)))
        ids = " ".join(f"{key}={escape_controls(str(getattr(record, key)))}" for key in FIELDS if hasattr(record, key))
        line = f"{head} [{ids}]" if ids else head  # ids stay on the first line, above a traceback
        trace = self.formatException(record.exc_info) if record.exc_info else ""
        if record.stack_info:
            trace = f"{trace}\n{self.formatStack(record.stack_info)}".lstrip("\n")
        return f"{line}\n{trace}" if trace else line


def escape_controls(text: str) -> str:
    """Control characters shown as escapes, so text from a request or an answer cannot forge a log line."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _without_traceback(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of the record without its exception, so only the message is escaped (tracebacks span lines)."""
    if not record.exc_info and not record.exc_text and not record.stack_info:
        return record
    plain = logging.makeLogRecord(record.__dict__)
    plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
    return plain


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def json_formatter() -> logging.Formatter:
    """One JSON object a line; extra record attributes (the bound ids) become keys."""
    return JsonFormatter("%(levelname)s %(name)s %(message)s", rename_fields=JSON_RENAMES, timestamp="time",
                         reserved_attrs=[*RESERVED_ATTRS, *JSON_DROPPED])


def wants_json(log_format: str, stream: IO[str]) -> bool:
    """Whether ``log_format`` means JSON on ``stream`` (``auto``: unless a person is watching)."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger of this process to one handler on ``stream`` (default stderr); return the handler."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter() if wants_json(settings.log_format, stream) else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if _replaceable(h)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # the root's level decides (an earlier uvicorn.run may have set one)
        logger.disabled = False  # a logging config with disable_existing_loggers may have switched it off
    logging.captureWarnings(True)  # a library's warning becomes a line in the same format
    return handler


def _replaceable(handler: logging.Handler) -> bool:
    """A plain stream handler (ours from an earlier call, or one ``basicConfig`` left) would print each line
    again; a specialised one (pytest's capture, a test's) is someone else's and stays."""
    return type(handler) is logging.StreamHandler
