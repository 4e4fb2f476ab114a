"""Domain errors, mapped to HTTP only in ``rqflow.api``.

Every error names the field it concerns (``field``) and says what is wrong in
its message, so a REST client, an agent tool and a CLI user all get the same
actionable text::

    RqflowError
    ├── NotFound (LookupError)             -> 404
    │   ├── ScheduleNotFound
    │   ├── WorkflowNotFound
    │   ├── TokenNotFound
    │   └── WorkflowRunNotFound
    ├── InvalidInput (ValueError)          -> 422
    │   ├── InvalidCronExpression
    │   ├── UnknownTimezone
    │   ├── IntervalTooSmall
    │   ├── NeverFires
    │   └── RunAtInPast
    ├── Conflict                           -> 409
    │   ├── InvalidStateTransition
    │   ├── ScheduleLimitReached
    │   ├── WorkflowLimitReached
    │   └── QueuedRunLimitReached
    ├── RateLimited                        -> 429 (with Retry-After)
    ├── AuthenticationFailed               -> 401
    └── ServiceUnavailable                 -> 503
"""

from __future__ import annotations


class RqflowError(Exception):
    """Base of every error rqflow raises on purpose."""

    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        if field is not None:
            self.field = field

    @property
    def message(self) -> str:
        """The human-readable text, without the class name."""
        return str(self.args[0]) if self.args else ""


class NotFound(RqflowError, LookupError):
    """The object does not exist or belongs to someone else."""


class ScheduleNotFound(NotFound):
    """No such schedule."""

    def __init__(self, schedule_id: object) -> None:
        super().__init__(f"schedule {schedule_id} not found", field="id")


class WorkflowNotFound(NotFound):
    """No such workflow."""

    def __init__(self, workflow_id: object, *, field: str = "id") -> None:
        super().__init__(f"workflow {workflow_id} not found", field=field)


class WorkflowRunNotFound(NotFound):
    """No such workflow run."""

    def __init__(self, run_id: object) -> None:
        super().__init__(f"workflow run {run_id} not found", field="id")


class TokenNotFound(NotFound):
    """No such API token (or not the caller's)."""

    def __init__(self, token_id: object) -> None:
        super().__init__(f"API token {token_id} not found", field="id")


class InvalidInput(RqflowError, ValueError):
    """The input is not valid."""


class InvalidCronExpression(InvalidInput):
    """The cron expression is not valid."""

    field = "cron_expression"


class UnknownTimezone(InvalidInput):
    """The timezone is not a known IANA zone name."""

    field = "timezone"


class IntervalTooSmall(InvalidInput):
    """The schedule would fire more often than the configured minimum allows."""


class NeverFires(InvalidInput):
    """The schedule can never fire."""


class RunAtInPast(InvalidInput):
    """A one-time schedule must be in the future."""

    field = "run_at"


class Conflict(RqflowError):
    """The request conflicts with the current state."""


class InvalidStateTransition(Conflict):
    """The schedule cannot move from its current status to the one asked for."""

    field = "status"


class ScheduleLimitReached(Conflict):
    """The user already has as many active schedules as RQFLOW_MAX_SCHEDULES_PER_USER allows."""

    field = "status"


class WorkflowLimitReached(Conflict):
    """The user already has as many workflows as RQFLOW_MAX_WORKFLOWS_PER_USER allows."""


class QueuedRunLimitReached(Conflict):
    """The user already has as many runs queued or waiting as RQFLOW_MAX_QUEUED_RUNS_PER_USER allows."""


class RateLimited(RqflowError):
    """Too many requests of one kind in too short a time; ``retry_after`` says when one more is accepted."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationFailed(RqflowError):
    """Missing or invalid API token."""


class ServiceUnavailable(RqflowError):
    """A backing service (database or Redis) cannot be reached right now."""
