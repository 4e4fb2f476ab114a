"""The ``rqflow`` command: one sub-command per process, plus setup helpers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError

from rqflow.client import schedules_cli, tables, workflows_cli
from rqflow.client.commands import WideOption, show
from rqflow.settings import Settings, get_settings

T = TypeVar("T")
app = typer.Typer(help="rqflow: workflows on schedules, over RQ.", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="Manage users and API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(schedules_cli.app, name="schedules")
app.add_typer(workflows_cli.app, name="workflows")

def _settings() -> Settings:
    """Load settings, turning a bad value into a one-line error instead of a traceback."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = "RQFLOW_" + "_".join(str(p) for p in error["loc"]).upper()
            typer.echo(f"rqflow: bad setting {field}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    from rqflow.observability.logs import configure_logging

    configure_logging(settings)  # one handler, JSON or text, for this process and its libraries
    return settings


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port (default $PORT, else 8000).")] = 8000,
) -> None:
    """Serve the REST API (docs at /docs)."""
    import uvicorn

    from rqflow.app import create_app

    settings = _settings()
    # log_config=None: uvicorn logs through the handler configure_logging installed
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower(),
                log_config=None)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Quit when the queue is empty.")] = False,
    simple: Annotated[bool, typer.Option(help="Run jobs in this process instead of forking per job.")] = False,
    pool: Annotated[int, typer.Option(min=0, help=(
        "Run this many non-forking workers under RQ's worker pool: several jobs at once, none paying for a "
        "fork. Jobs share their worker process, so use it for trusted workflows at volume."))] = 0,
) -> None:
    """Run an RQ worker: scheduled occurrences first, then manual runs and backfills."""
    from rq import SimpleWorker
    from rq.worker_pool import WorkerPool

    from rqflow.broker.connection import get_redis, worker_queues
    from rqflow.jobs.failures import horse_killed
    from rqflow.jobs.forking_worker import ForkingWorker
    from rqflow.jobs.preload import preload_job_modules, warm_statement_cache

    settings = _settings()
    preload_job_modules()  # once here, instead of in every forked work horse (or pool member)
    warm_statement_cache()
    if pool:
        # Each member is a SimpleWorker in a process forked from this one, so it starts warm.
        WorkerPool(worker_queues(), connection=get_redis(), num_workers=pool, worker_class=SimpleWorker).start(
            burst=burst, logging_level=settings.log_level)
        return
    worker_class = SimpleWorker if simple else ForkingWorker
    # A killed job process fails its ledger row at once instead of leaving it running.
    worker = worker_class(worker_queues(), connection=get_redis(), work_horse_killed_handler=horse_killed)
    worker.work(burst=burst, with_scheduler=False)


@app.command()
def scheduler() -> None:
    """Run the scheduler process (run several for failover; one leads at a time)."""
    from rqflow.broker.connection import get_redis
    from rqflow.scheduler.process import RqflowScheduler

    settings = _settings()
    RqflowScheduler(connection=get_redis(), settings=settings).run()


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9181,
) -> None:
    """Serve rq-dashboard (queues, jobs, workers) for rqflow's Redis; needs rqflow's dashboard extra."""
    settings = _settings()
    try:
        from rq_dashboard.cli import run
    except ImportError:
        typer.echo("rqflow: rq-dashboard is not installed: pip install 'rqflow[dashboard]'", err=True)
        raise typer.Exit(2) from None
    os.environ["RQ_DASHBOARD_REDIS_URL"] = settings.redis_url  # not in argv, where ps would show a password
    run.main(args=["--bind", host, "--port", str(port)], prog_name="rqflow dashboard",
             auto_envvar_prefix="RQ_DASHBOARD")


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from rqflow.migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}: {_redacted(settings.database_url)}")


@app.command("mcp")
def mcp_command(
    transport: Annotated[Literal["stdio", "http"], typer.Option(
        help="stdio (one client, as $RQFLOW_TOKEN's user) or http (streamable HTTP, bearer tokens).",
    )] = "stdio",
    host: Annotated[str, typer.Option(help="Interface to listen on (http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (http).")] = 8001,
) -> None:
    """Serve the scheduler's tools to MCP clients."""
    from rqflow import mcp_server
    from rqflow.errors import AuthenticationFailed

    settings = _settings()  # logs go to stderr: over stdio, stdout carries only the protocol
    if transport == "http":
        mcp_server.serve_http(host=host, port=port, log_level=settings.log_level.lower())
        return
    token = os.environ.get("RQFLOW_TOKEN", "")
    if not token:
        typer.echo("rqflow: set RQFLOW_TOKEN to an API token (rqflow user create NAME prints one)", err=True)
        raise typer.Exit(2)
    try:
        name = mcp_server.check_token(token)
    except AuthenticationFailed:
        typer.echo("rqflow: RQFLOW_TOKEN is not a valid API token", err=True)
        raise typer.Exit(2) from None
    logging.getLogger(__name__).info("serving MCP over stdio as user %s", name)
    mcp_server.serve_stdio(token)


@user_app.command("create")
def user_create(name: Annotated[str, typer.Argument(help="A unique user name.")]) -> None:
    """Create a user; the API token is printed as the last line."""
    from rqflow.db import session_scope
    from rqflow.errors import RqflowError
    from rqflow.services.users import create_user

    _settings()
    try:
        with session_scope() as db:
            user, token = create_user(db=db, name=name)
            user_id = user.id
    except RqflowError as exc:
        typer.echo(f"rqflow: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created user {name} (id {user_id}); its API token (shown once):")
    typer.echo(token)


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="An existing user name.")],
    label: Annotated[str, typer.Option("--name", help="What the token is for.")] = "rqflow user token",
    expires_in: Annotated[str | None, typer.Option(help="Stop working after this long: 90m, 12h, 30d.")] = None,
) -> None:
    """Issue another API token for an existing user; printed as the last line."""
    from rqflow.client.humanize import parse_duration
    from rqflow.db import session_scope
    from rqflow.services.users import issue_token

    _settings()
    lifetime = _or_exit(lambda: parse_duration(expires_in)) if expires_in is not None else None
    with session_scope() as db:
        row, token = issue_token(db=db, user=_user_or_exit(db, name), label=label, expires_in=lifetime)
        until = f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
        typer.echo(f"token {row.id} for {name}{until} (shown once):")
    typer.echo(token)


@user_app.command("tokens")
def user_tokens(
    name: Annotated[str, typer.Argument(help="An existing user name.")], wide: WideOption = False,
) -> None:
    """List a user's tokens (never the tokens themselves): id, name, expires, last used, revoked, created."""
    from rqflow.api.routes.tokens import token_public
    from rqflow.db import session_scope
    from rqflow.services.users import list_tokens

    _settings()
    with session_scope() as db:
        # As GET /api/v1/tokens answers them, so the table reads the API's field names like the others.
        rows = list_tokens(db=db, user=_user_or_exit(db, name))
        tokens = [token_public(row).model_dump(mode="json") for row in rows]
    show(tables.tokens_table(tokens, user=name, wide=wide))


@user_app.command("revoke")
def user_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (rqflow user tokens NAME).")]) -> None:
    """Revoke a token: it stops working at once, on the API, MCP and the dashboard."""
    from rqflow.db import session_scope
    from rqflow.errors import TokenNotFound
    from rqflow.services.users import revoke_token

    _settings()
    with session_scope() as db:
        try:
            revoke_token(db=db, token_id=token_id)
        except TokenNotFound as exc:
            typer.echo(f"rqflow: {exc.message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"revoked token {token_id}")


def _user_or_exit(db: Any, name: str) -> Any:
    from rqflow.services.users import get_user_by_name

    user = get_user_by_name(db=db, name=name)
    if user is None:
        typer.echo(f"rqflow: no user named {name!r}", err=True)
        raise typer.Exit(1)
    return user


def _or_exit(compute: Callable[[], T]) -> T:
    """The value, or a one-line error naming what was wrong."""
    try:
        return compute()
    except ValueError as exc:
        typer.echo(f"rqflow: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("local-redis")
def local_redis(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 6379,
    directory: Annotated[Path, typer.Option(help="Working directory for its log.")] = Path(".run"),
) -> None:
    """Make sure a Redis answers on 127.0.0.1:PORT, starting a local redis-server if none does."""
    from rqflow.local_redis import ensure_redis

    message = ensure_redis(port=port, directory=directory)
    typer.echo(message)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Entry point of the console script."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app(prog_name="rqflow")


if __name__ == "__main__":
    main()
