"""Templates, flash messages and redirects: how every page answers.

A flash message is one line shown on the next page after a redirect ("Paused:
maintenance"); it travels in a short-lived cookie rather than the URL, so a link
cannot be crafted to show a message the server never gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from rqflow.schemas.common import trigger_kind_of
from rqflow.ui import formatting
from rqflow.ui.session import UI_PREFIX

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
FLASH_COOKIE = "rqflow_flash"
# A flash message is read on the very next page; a minute covers a slow redirect and no more.
FLASH_SECONDS = 60


@dataclass(frozen=True)
class Flash:
    """A one-line message for the next page: ``ok`` or ``error``."""

    kind: str
    message: str


def _environment() -> jinja2.Environment:
    """Autoescaped, and strict: a misspelt variable fails the page in tests instead of printing nothing."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(local=formatting.local_time, relative=formatting.relative_time,
                       seconds=formatting.seconds_text, json=formatting.pretty_json,
                       local_input=formatting.local_input, trigger_kind=trigger_kind_of)
    env.globals.update(lateness=formatting.lateness, duration=formatting.duration, ui=UI_PREFIX)
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render a page, showing (and clearing) the pending flash message."""
    flash = read_flash(request)
    values = {"user": None, "section": "", "flash": flash, **context}
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path=UI_PREFIX)
    return response


def redirect(url: str, *, flash: str = "", kind: str = "ok") -> RedirectResponse:
    """A 303 to ``url`` (a GET after a POST), with a flash message for the page it lands on."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(f"{kind}:{flash}", safe=""), max_age=FLASH_SECONDS,
                            path=UI_PREFIX, httponly=True, samesite="strict")
    return response


def read_flash(request: Request) -> Flash | None:
    """The pending flash message, if any."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, message = unquote(raw).partition(":")
    return Flash(kind="error" if kind == "error" else "ok", message=message[:500])


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """A plain page for a refused or missing object."""
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code=status_code)
