"""Settings, read once from the environment (``RQFLOW_*``) and validated at startup.

This is the only module that reads the environment. A bad value fails fast with
a message that names the variable, instead of surfacing later as a confusing
runtime error in a worker.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Annotated, Literal

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The most nodes a workflow may ever hold, whatever RQFLOW_MAX_NODES_PER_WORKFLOW says: the request
# body limit and the editor are sized for it.
MAX_NODES_CEILING = 1000
# The most tries a retry policy may ever ask for, whatever RQFLOW_RETRY_MAX_ATTEMPTS says.
MAX_RETRY_ATTEMPTS_CEILING = 100


class LlmProviderSettings(BaseModel):
    """One language-model provider the operator offers to agent nodes (an entry of RQFLOW_LLM_PROVIDERS)."""

    model_config = ConfigDict(extra="forbid")

    base_url: Annotated[str, Field(pattern=r"^https?://")]
    api_key: SecretStr = SecretStr("")
    # The models a node may ask for (the first is the default); empty: any, RQFLOW_LLM_MODEL by default.
    models: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    # The user names that may use it; absent: every user.
    users: list[str] | None = None


class LlmPrice(BaseModel):
    """What the operator pays for one model (an entry of RQFLOW_LLM_PRICES), in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input_per_million_usd: Annotated[float, Field(ge=0)]
    output_per_million_usd: Annotated[float, Field(ge=0)]


class Settings(BaseSettings):
    """Every knob rqflow has; see the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="RQFLOW_", extra="ignore")

    database_url: str = "sqlite:///rqflow.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "rqflow"
    min_interval_seconds: Annotated[int, Field(ge=1)] = 60
    # How often the scheduler compares Redis with the database and repairs it.
    reconcile_seconds: Annotated[float, Field(gt=0)] = 30.0
    # The scheduler never waits longer than this between looks at its timers.
    poll_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # A scheduler that stops renewing its lease loses it after this long.
    lease_seconds: Annotated[float, Field(ge=2)] = 15.0
    # The longest one firing (a workflow run) may take inside a worker.
    job_timeout_seconds: Annotated[int, Field(ge=1)] = 600
    # How long RQ keeps a finished job's result and hash.
    job_result_ttl_seconds: Annotated[int, Field(ge=0)] = 3600
    # Timeout of one http_request node's whole exchange, unless the node sets its own.
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # The largest answer body (decoded) an http_request node reads; a larger one fails the node.
    http_max_response_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    # The longest a node may take (rendering its config included), unless it sets timeout_seconds.
    node_timeout_seconds: Annotated[float, Field(gt=0)] = 300.0
    # A node's input and output are stored up to this size (as JSON); a larger value is stored as a preview.
    node_stored_max_bytes: Annotated[int, Field(ge=1024)] = 262_144
    # The most tries (the first included) a node's retry policy may ask for; more is refused when it is saved.
    retry_max_attempts: Annotated[int, Field(ge=1, le=MAX_RETRY_ATTEMPTS_CEILING)] = 10
    # A run (retries' waits included) that has not ended this long after it started fails with reason
    # "timeout", unless its schedule sets run_timeout_seconds; a schedule may not ask for more than the maximum.
    run_timeout_seconds: Annotated[int, Field(ge=1)] = 3600
    max_run_timeout_seconds: Annotated[int, Field(ge=1)] = 86400
    # Ledger rows (with their workflow and node runs) older than this many days are deleted by the leading
    # scheduler, unless their schedule sets run_retention_days (at most max_run_retention_days).
    run_retention_days: Annotated[int, Field(ge=1)] = 30
    max_run_retention_days: Annotated[int, Field(ge=1)] = 365
    # The audit history (schedule_changes) is kept this many days.
    audit_retention_days: Annotated[int, Field(ge=1)] = 365
    # Rows the retention sweep deletes in one transaction; it never holds a lock longer than one batch takes.
    retention_batch_size: Annotated[int, Field(ge=1, le=100_000)] = 1000
    # An occurrence started this late is still "on time"; later, the catch-up policy decides.
    misfire_grace_seconds: Annotated[float, Field(ge=0)] = 60.0
    # At most this many active schedules per user (creating or resuming past it is refused).
    max_schedules_per_user: Annotated[int, Field(ge=1)] = 1000
    # At most this many workflows per user, and nodes in one workflow (saving past either is refused).
    max_workflows_per_user: Annotated[int, Field(ge=1)] = 200
    max_nodes_per_workflow: Annotated[int, Field(ge=1, le=MAX_NODES_CEILING)] = 200
    # A run-now or backfill that would leave more of one user's runs queued or waiting is refused.
    max_queued_runs_per_user: Annotated[int, Field(ge=1)] = 2000
    # At most this many of one user's runs at once (enqueued, running or waiting for a retry); more wait their
    # turn. None (the default): no limit.
    max_concurrent_runs_per_user: Annotated[int | None, Field(ge=1)] = None
    # How often one user may ask for run-now and backfill, in the `limits` notation ("60/minute;600/hour").
    trigger_rate_limit: str = "60/minute;600/hour"
    # The OpenAI-compatible chat-completions API that agent nodes call, unless a node names its own.
    llm_base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://api.openai.com/v1"
    # The model agent nodes ask for, unless a node names its own.
    llm_model: Annotated[str, Field(min_length=1)] = "gpt-4o-mini"
    # Sent as a bearer token, only to llm_base_url; a SecretStr so it never shows in logs or reprs.
    llm_api_key: SecretStr = SecretStr("")
    # More providers for agent nodes, as JSON: {"name": {"base_url", "api_key", "models": [...], "users": [...]}}.
    # A workflow picks one by name; each key is only ever sent to its own provider's base_url.
    llm_providers: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")], LlmProviderSettings] = {}
    # What each model costs, as JSON: {"gpt-4o-mini": {"input_per_million_usd": 0.15, "output_per_million_usd": 0.6}}.
    # A model not listed costs 0 (its tokens are still counted).
    llm_prices: dict[Annotated[str, Field(min_length=1, max_length=200)], LlmPrice] = {}
    # The most a schedule may set as max_budget_per_run_usd and max_tokens_per_run (refused above, 422).
    max_budget_per_run_usd: Annotated[float, Field(gt=0)] = 10.0
    # Once one user's runs have spent this much on model calls in a UTC day, their new runs are recorded
    # skipped (reason "budget") until the day ends. None (the default): no daily budget.
    user_daily_budget_usd: Annotated[float | None, Field(gt=0)] = None
    max_tokens_per_run: Annotated[int, Field(ge=1)] = 10_000_000
    # The functions python_call nodes may call: exact dotted paths or ``package.module.*``, comma-separated.
    # Empty (the default): the node is refused; calling a function by name is running code on the workers.
    python_callables: Annotated[list[str], NoDecode] = []
    # Internal targets that http_request nodes and agents with their own base_url may reach besides the public
    # Internet: CIDRs (10.1.2.0/24) and host names, comma-separated. Empty: public addresses only.
    egress_allow: Annotated[list[str], NoDecode] = []
    # `rqflow mcp --http`: the Host headers (host:port, '*' for any port) and Origins it answers, comma-separated.
    # Empty: on loopback, loopback names only; on any other address, only the address it listens on.
    mcp_allowed_hosts: Annotated[list[str], NoDecode] = []
    mcp_allowed_origins: Annotated[list[str], NoDecode] = []
    # The largest text (or list) one template may make, and the longest rendered string of a node's config.
    template_max_chars: Annotated[int, Field(ge=1024)] = 100_000
    # The dashboard's session cookie is Secure when true; unset: Secure unless the site is plain http on loopback.
    cookie_secure: bool | None = None
    # A dashboard session ends after this many hours (sooner if its API token is revoked or expires).
    ui_session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 12.0
    # Notifications (a schedule's ``notify`` entries). Email goes out through this SMTP server:
    # smtp://user:password@host:587 (STARTTLS when the server offers it), smtps://host:465 (TLS from the start);
    # unset: email entries are refused when saved.
    smtp_url: SecretStr | None = None
    # The From address of notification emails.
    smtp_from: str = "rqflow@localhost"
    # The domains (example.com) and addresses email entries may send to, comma-separated; empty: any address.
    notify_email_allow: Annotated[list[str], NoDecode] = []
    # Where people reach the dashboard, for the links in notifications.
    public_url: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:8000"
    # A delivery that fails is tried again after this many seconds, doubling each time up to an hour, at most
    # notify_max_attempts tries in all; each try gives up after notify_timeout_seconds.
    notify_retry_seconds: Annotated[float, Field(gt=0)] = 30.0
    notify_max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    notify_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    log_level: str = "INFO"
    # json: one JSON object a line (for log shippers); text: for people; auto: text on a terminal, else json.
    log_format: Literal["auto", "json", "text"] = "auto"
    # The API answers 503 once a request has waited this long for the database (SQLite's write lock, a
    # PostgreSQL connection, statement or row lock), instead of hanging for as long as an outage lasts.
    api_database_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Workers and the scheduler wait this long for SQLite's write lock, riding out a long transaction elsewhere.
    sqlite_busy_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    # Workers and the scheduler keep reconnecting to a PostgreSQL that went away for this long (0: fail at once).
    database_reconnect_seconds: Annotated[float, Field(ge=0)] = 60.0
    # The API answers 413 to a request body larger than this; 1 MiB holds a 200-node workflow many times over.
    max_request_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576

    @field_validator("trigger_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"RQFLOW_TRIGGER_RATE_LIMIT: {value!r} is not like '60/minute;600/hour' ({exc})") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgres")):
            raise ValueError("RQFLOW_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return _prefer_psycopg3(value)

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("RQFLOW_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("python_callables", "egress_allow", "mcp_allowed_hosts", "mcp_allowed_origins", "notify_email_allow",
                     mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """Lists are given as comma-separated text in the environment."""
        if isinstance(value, str):
            return [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    @field_validator("python_callables")
    @classmethod
    def _callable_paths(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _CALLABLE_ENTRY.fullmatch(entry):
                raise ValueError(f"RQFLOW_PYTHON_CALLABLES: {entry!r} is not a dotted path or a 'module.*' prefix")
        return [entry.replace(":", ".") for entry in value]

    @field_validator("egress_allow")
    @classmethod
    def _egress_targets(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not (is_network(entry) or _HOST_NAME.fullmatch(entry)):
                raise ValueError(f"RQFLOW_EGRESS_ALLOW: {entry!r} is neither a CIDR nor a host name")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("RQFLOW_SMTP_URL must be an smtp:// or smtps:// URL")
        return value

    @property
    def bulk_queue(self) -> str:
        """The RQ queue of manual runs and backfills, which workers take after the scheduled one."""
        return f"{self.queue}-bulk"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite, which needs extra care with concurrency."""
        return self.database_url.startswith("sqlite")


# ``package.module.function``, ``package.module:function`` or ``package.module.*``.
_CALLABLE_ENTRY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*([.:][A-Za-z_]\w*|\.\*)")


# A DNS host name (labels of letters, digits and inner hyphens), not all digits and dots (that is an address).
_HOST_NAME = re.compile(r"(?=.{1,253}$)(?![\d.]+$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")


def is_network(entry: str) -> bool:
    """Whether an RQFLOW_EGRESS_ALLOW entry is an address or CIDR (else it is a host name)."""
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _prefer_psycopg3(url: str) -> str:
    """Use psycopg 3 for bare ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare):]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
