"""A schedule's ``notify`` entries (who hears about which outcomes) and the deliveries they make.

An entry names the outcomes it wants and one target, a webhook URL or an email address:
``{"on": ["failed", "timeout"], "webhook": "https://hooks.example.com/rqflow"}`` or
``{"on": ["succeeded"], "email": "ops@example.com"}``. People write the same entry as one line,
``failed,timeout https://hooks.example.com/rqflow`` (the dashboard's form and the CLI's
``--notify``): :func:`parse_notify_line` and :func:`notify_line` turn one into the other.

Here only the shape is checked; what the server allows (SMTP configured, the operator's
address list) is checked when the schedule is saved, and where a webhook may connect when
it is sent (the egress guard).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from rqflow.schemas.common import StrictInput

# What a run (or the user's day) came to: a run's outcome, a missed occurrence, a schedule paused after its
# failures, or the user's daily budget 80 % spent.
NotifyOutcome = Literal["succeeded", "failed", "timeout", "budget_exceeded", "missed", "auto_paused", "daily_budget"]
NOTIFY_OUTCOMES: tuple[str, ...] = get_args(NotifyOutcome)
# What a sent notification is about: an outcome, or a test asked for to check the targets.
DeliveryOutcome = Literal["succeeded", "failed", "timeout", "budget_exceeded", "missed", "auto_paused",
                          "daily_budget", "test"]
Channel = Literal["webhook", "email"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
MAX_NOTIFY_ENTRIES = 10
MAX_URL_LENGTH = 2000

NOTIFY_HELP = ("Who hears about this schedule's runs: up to 10 entries, each {on: [outcomes], webhook: URL} or "
               "{on: [outcomes], email: address}. Outcomes: succeeded, failed (every failed run), timeout, "
               "budget_exceeded, missed, auto_paused, daily_budget (the owner's daily budget 80 % spent).")


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password (deliveries are signed instead)")
    return value


WebhookUrl = Annotated[str, Field(min_length=8, max_length=MAX_URL_LENGTH), AfterValidator(_webhook_url)]


class NotifyEntry(StrictInput):
    """One target and the outcomes it hears about."""

    on: list[NotifyOutcome] = Field(min_length=1, max_length=len(NOTIFY_OUTCOMES),
                                    description="The outcomes that send a notification.")
    webhook: WebhookUrl | None = Field(default=None, description="POST a signed JSON body to this URL.")
    email: EmailStr | None = Field(default=None, max_length=254, description="Send an email to this address.")

    @model_validator(mode="after")
    def _one_target(self) -> NotifyEntry:
        if (self.webhook is None) == (self.email is None):
            raise ValueError("give exactly one of webhook and email")
        self.on = list(dict.fromkeys(self.on))
        return self

    @model_serializer(mode="wrap")
    def _without_absent_target(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        """Stored and shown as written: the target it has, not the other one as null."""
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def channel(self) -> Channel:
        return "webhook" if self.webhook is not None else "email"

    @property
    def target(self) -> str:
        return self.webhook or self.email or ""

    def wants(self, outcome: str) -> bool:
        """Whether this entry hears about ``outcome``; ``failed`` covers every failed run (timeouts and budgets)."""
        return outcome in self.on or (outcome in FAILURE_OUTCOMES and "failed" in self.on)


# The outcomes that are also a failed run.
FAILURE_OUTCOMES = ("timeout", "budget_exceeded")
NotifyList = Annotated[list[NotifyEntry], Field(max_length=MAX_NOTIFY_ENTRIES, description=NOTIFY_HELP)]


def parse_notify_line(line: str) -> NotifyEntry:
    """``failed,timeout https://…`` or ``succeeded ops@example.com`` as an entry; ValueError says what is wrong."""
    outcomes, _, target = line.strip().partition(" ")
    target = target.strip()
    if not outcomes or not target:
        raise ValueError(f"{line.strip()!r}: write the outcomes, a space, then a URL or an email address "
                         "(failed,timeout https://hooks.example.com/x)")
    kind = "webhook" if "://" in target else "email"
    try:
        return NotifyEntry.model_validate({"on": [o.strip() for o in outcomes.split(",") if o.strip()], kind: target})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc']) or 'entry'}: {error['msg']}"
                             for error in exc.errors())
        raise ValueError(f"{line.strip()!r}: {problems}") from None


def notify_line(entry: NotifyEntry | dict[str, object]) -> str:
    """An entry as the one line :func:`parse_notify_line` reads."""
    parsed = entry if isinstance(entry, NotifyEntry) else NotifyEntry.model_validate(entry)
    return f"{','.join(parsed.on)} {parsed.target}"


class NotificationAttemptPublic(BaseModel):
    """One try at a delivery."""

    model_config = ConfigDict(from_attributes=True)

    attempt: int
    started_at: datetime
    duration_ms: float
    ok: bool
    status_code: int | None = Field(description="The webhook's HTTP status (none for email or no answer).")
    error: str


class NotificationPublic(BaseModel):
    """One notification: what it is about, where it goes, and how its tries went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    schedule_id: str = Field(validation_alias="scheduled_job_id")
    run_id: int | None = Field(validation_alias="schedule_run_id")
    outcome: DeliveryOutcome
    channel: Channel
    target: str
    status: DeliveryStatus = Field(description="pending (a try is due at next_attempt_at), delivered or failed "
                                               "(every try failed, or the target may not be reached).")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    tries: list[NotificationAttemptPublic] = Field(validation_alias="attempt_log")


class TestNotificationsSent(BaseModel):
    """The test notifications queued, one per notify entry (pending: a worker sends them)."""

    count: int
    items: list[NotificationPublic]


class WebhookSecretPublic(BaseModel):
    """The secret that signs the user's webhook deliveries (HMAC-SHA256), and how to check a signature."""

    secret: str
    signature_header: str = "X-Rqflow-Signature"
    timestamp_header: str = "X-Rqflow-Timestamp"
    signed: str = Field(default="<timestamp>.<body>", description="What is signed: the timestamp header's value, "
                                                                "a dot, then the raw body; the header holds "
                                                                "sha256=<hex digest>.")
