"""Settings come from RQFLOW_* and refuse bad values at startup."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from rqflow.cli import app
from rqflow.settings import Settings, get_settings


def test_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.queue == "rqflow" and settings.min_interval_seconds == 60
    assert settings.database_url.startswith("sqlite:///")


def test_postgres_urls_use_psycopg3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RQFLOW_DATABASE_URL", "postgresql://u@h/db")
    assert Settings().database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [("RQFLOW_MIN_INTERVAL_SECONDS", "0"), ("RQFLOW_REDIS_URL", "http://x"), ("RQFLOW_DATABASE_URL", "mysql://x"),
     ("RQFLOW_QUEUE", "bad queue")],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_the_cli_names_the_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RQFLOW_MIN_INTERVAL_SECONDS", "-5")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "RQFLOW_MIN_INTERVAL_SECONDS" in result.output
