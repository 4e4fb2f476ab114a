"""What every API command shares: where the API is, one client per command, errors as one line, output.

Exit codes: 0 done (or not done because the person said no when asked); 1 the request was refused, by the
API (its ``field`` and ``message`` are printed) or before it was sent (a bad option, the start of an id
that no schedule id or several share); 2 the API could not be used (nothing answers at the URL, or the
token is missing or wrong).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console, RenderableType

if TYPE_CHECKING:
    import httpx

    from rqflow.client.api_client import ApiClient, ApiRefused

DEFAULT_API_URL = "http://127.0.0.1:8000"

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer, and nothing else.")]
LimitOption = Annotated[int, typer.Option(min=1, help="Show at most this many (pages are followed).")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Skip this many first.")]
WideOption = Annotated[bool, typer.Option(
    "--wide", help="Every column and whole ids, even if the lines get wider than the terminal.")]


@dataclass(frozen=True)
class Target:
    """The API a command talks to; ``transport`` lets tests answer without a server."""

    base_url: str
    token: str
    transport: httpx.BaseTransport | None = None


def connect(
    ctx: typer.Context,
    api_url: Annotated[str, typer.Option(envvar="RQFLOW_API_URL", help="Base URL of the rqflow API.")]
    = DEFAULT_API_URL,
    token: Annotated[str, typer.Option(envvar="RQFLOW_TOKEN", show_default=False,
                                       help="API token (from 'rqflow user create NAME').")] = "",
) -> None:
    """Remember where the API is; a test may have put a transport in ``ctx.obj`` beforehand."""
    transport = ctx.obj.get("transport") if isinstance(ctx.obj, dict) else None
    ctx.obj = Target(base_url=api_url, token=token, transport=transport)


@contextmanager
def api(ctx: typer.Context) -> Iterator[ApiClient]:
    """A client for one command; any API error ends the command with one line on stderr, never a traceback."""
    # Imported here: httpx costs every `rqflow` process (workers, schedulers) a tenth of a second otherwise.
    from rqflow.client.api_client import ApiClient, ApiRefused, ApiUnreachable, Unauthorized

    target: Target = ctx.find_object(Target) or Target(DEFAULT_API_URL, "")
    client = ApiClient(base_url=target.base_url, token=target.token, transport=target.transport)
    try:
        yield client
    except Unauthorized:
        fail(_unauthorized(target), code=2)
    except ApiRefused as exc:
        fail(refusal_line(exc), code=1)
    except ApiUnreachable as exc:
        fail(str(exc), code=2)
    finally:
        client.close()


def refusal_line(exc: ApiRefused) -> str:
    """``<field>: <message>``, without repeating a field the API's message already starts with."""
    if exc.field and not exc.message.startswith(f"{exc.field}:"):
        return f"{exc.field}: {exc.message}"
    return exc.message


def _unauthorized(target: Target) -> str:
    if not target.token:
        return "no API token: set RQFLOW_TOKEN (`rqflow user create NAME` prints one)"
    return f"the API at {target.base_url} refused the token in RQFLOW_TOKEN: it is wrong or was revoked"


def fail(message: str, *, code: int) -> NoReturn:
    """Print ``rqflow: <message>`` on stderr and exit with ``code``."""
    typer.echo(f"rqflow: {message}", err=True)
    raise typer.Exit(code)


def emit(data: Any, *, as_json: bool, render: Callable[[], RenderableType | str]) -> None:
    """The API's JSON for scripts, else what ``render`` draws for people."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        show(render())


def show(renderable: RenderableType | str) -> None:
    """Print for people, uncropped: a ``--wide`` table is wider than the terminal on purpose."""
    Console().print(renderable, crop=False)
