"""A small client of the REST API: one method per route, answers as the API's JSON.

Errors form a tree, so a command catches one class and prints one line::

    ApiError
    ├── ApiUnreachable        no answer: connection refused, timeout, bad URL
    └── ApiRefused            an answer with a 4xx/5xx status, ``field`` and ``message``
        └── Unauthorized      401: the token is missing or wrong
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

# The API's largest page: asking for more is a 422.
MAX_PAGE = 500
# Long enough for a slow SQLite write lock (the API gives up after 10 s by default), short enough to not hang.
TIMEOUT_SECONDS = 30.0

Json = dict[str, Any]


class ApiError(Exception):
    """The API could not be used."""


class ApiUnreachable(ApiError):
    """Nothing answered at the API's URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the rqflow API at {url} ({reason}); is `rqflow web` running? "
                         "Set RQFLOW_API_URL to its address.")


class ApiRefused(ApiError):
    """The API answered with an error status; ``field`` names the offending input when it knows it."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class Unauthorized(ApiRefused):
    """The API token is missing or wrong."""


class ApiClient:
    """The REST API of one rqflow, as one user (the token's)."""

    def __init__(self, *, base_url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, transport=transport,
                                  timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    # -- schedules -------------------------------------------------------------------------------

    def list_schedules(self, *, status: str | None = None, name: str | None = None, limit: int = 50,
                       offset: int = 0) -> Json:
        """Up to ``limit`` schedules from ``offset``, following the API's pages; shaped as one page."""
        query = _present(status=status, name=name)
        return collect(lambda size, start: self._get("/api/v1/schedules", {**query, "limit": size, "offset": start}),
                       limit=limit, offset=offset)

    def all_schedules(self) -> list[Json]:
        """Every schedule of the token's user, page after page: where the start of an id is looked up."""
        return list(self.list_schedules(limit=sys.maxsize)["items"])

    def get_schedule(self, schedule_id: str) -> Json:
        """One schedule."""
        return self._get(f"/api/v1/schedules/{_segment(schedule_id)}")

    def create_schedule(self, body: Json) -> Json:
        """Create a schedule from a ``ScheduleCreate`` body."""
        return self._send("POST", "/api/v1/schedules", body)

    def pause_schedule(self, schedule_id: str, *, reason: str = "", until: str | None = None) -> Json:
        """Pause, optionally with a reason and an instant at which it resumes by itself."""
        return self._send("POST", f"/api/v1/schedules/{_segment(schedule_id)}/pause",
                          {"reason": reason, **_present(until=until)})

    def resume_schedule(self, schedule_id: str) -> Json:
        """Resume a paused schedule."""
        return self._send("POST", f"/api/v1/schedules/{_segment(schedule_id)}/resume")

    def trigger_schedule(self, schedule_id: str) -> Json:
        """Run the schedule now, once; answers the ledger row."""
        return self._send("POST", f"/api/v1/schedules/{_segment(schedule_id)}/trigger")

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete the schedule and its runs."""
        self._request("DELETE", f"/api/v1/schedules/{_segment(schedule_id)}")

    def list_runs(self, schedule_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0) -> Json:
        """The schedule's ledger, newest first, following the API's pages."""
        path, query = f"/api/v1/schedules/{_segment(schedule_id)}/runs", _present(status=status)
        return collect(lambda size, start: self._get(path, {**query, "limit": size, "offset": start}),
                       limit=limit, offset=offset)

    def send_test_notifications(self, schedule_id: str) -> Json:
        """Send each of the schedule's notify entries a test notification; answers them (pending)."""
        return self._send("POST", f"/api/v1/schedules/{_segment(schedule_id)}/notifications/test")

    def list_notifications(self, schedule_id: str, *, limit: int = 50, offset: int = 0) -> Json:
        """The notifications the schedule's ``notify`` entries sent, newest first, following the API's pages."""
        path = f"/api/v1/schedules/{_segment(schedule_id)}/notifications"
        return collect(lambda size, start: self._get(path, {"limit": size, "offset": start}),
                       limit=limit, offset=offset)

    # -- workflows -------------------------------------------------------------------------------

    def list_workflows(self, *, limit: int = 50, offset: int = 0) -> Json:
        """Your workflows, oldest first."""
        return collect(lambda size, start: self._get("/api/v1/workflows", {"limit": size, "offset": start}),
                       limit=limit, offset=offset)

    def list_workflow_runs(self, workflow_id: int, *, limit: int = 50, offset: int = 0) -> Json:
        """One workflow's runs, newest first."""
        path = f"/api/v1/workflows/{workflow_id}/runs"
        return collect(lambda size, start: self._get(path, {"limit": size, "offset": start}),
                       limit=limit, offset=offset)

    # -- transport -------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Json:
        return _json(self._request("GET", path, params=params))

    def _send(self, method: str, path: str, body: Json | None = None) -> Json:
        return _json(self._request(method, path, json=body))

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise ApiUnreachable(self.base_url, _reason(exc)) from exc
        if response.is_error:
            raise refusal(response)
        return response


def collect(fetch: Callable[[int, int], Json], *, limit: int, offset: int) -> Json:
    """Fetch pages of at most ``MAX_PAGE`` until ``limit`` items or the end; one request when it fits.

    The answer keeps the API's page shape, so ``--json`` output reads the same for one page or several.
    """
    items: list[Any] = []
    while True:
        size = min(limit - len(items), MAX_PAGE)
        page = fetch(size, offset + len(items))
        items.extend(page["items"])
        # A short page is the end, whatever ``total`` said: rows may be deleted while we page.
        if len(items) >= limit or len(page["items"]) < size:
            return {"items": items, "total": page["total"], "limit": limit, "offset": offset}


def refusal(response: httpx.Response) -> ApiRefused:
    """The error an error answer stands for, with the API's ``message`` and ``field`` when it sent them."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else response.reason_phrase
        body = {"message": f"HTTP {response.status_code}: {text}", "field": None}
    kind = Unauthorized if response.status_code == 401 else ApiRefused
    field = body.get("field")
    return kind(response.status_code, body["message"], field if isinstance(field, str) else None)


def _json(response: httpx.Response) -> Json:
    try:
        body = response.json()
    except ValueError as exc:
        raise ApiRefused(response.status_code, f"the API answered something that is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiRefused(response.status_code, "the API answered JSON that is not an object")
    return body


def _present(**values: str | None) -> dict[str, str]:
    """Query or body fields that were given; absent ones let the API apply its defaults."""
    return {key: value for key, value in values.items() if value is not None}


def _segment(value: str) -> str:
    """An id as one path segment: a ``/`` or ``?`` in it must not reach another route."""
    return quote(value, safe="")


def _reason(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):  # "[Errno 111] Connection refused" -> "connection refused"
        return re.sub(r"^\[Errno -?\d+\] ", "", str(exc)).lower() or "cannot connect"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT_SECONDS:.0f} s"
    return str(exc) or type(exc).__name__
