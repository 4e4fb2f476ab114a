"""``http_request``: call an HTTP endpoint; a non-2xx answer fails the node."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from rqflow.components.base import Component, NodeConfig, NodeContext
from rqflow.components.registry import register
from rqflow.egress import EgressPolicy, guarded_client, url_for_config
from rqflow.settings import get_settings


class HttpRequestConfig(NodeConfig):
    """Method, URL, headers and JSON body; strings may use ``{{ event.* }}`` and ``{{ nodes.* }}``."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "POST"
    url: str = Field(min_length=1, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _reachable(cls, value: str) -> str:
        return url_for_config(value)


class HttpStatusError(RuntimeError):
    """The endpoint answered, but not with a 2xx status."""


@register("http_request")
class HttpRequest(Component):
    """Send one request and return ``{"status_code", "headers", "body"}``."""

    config_model = HttpRequestConfig
    category = "Actions"
    label = "HTTP request"
    icon = "globe"
    color = "#3b82f6"

    def run(self, config: Any, context: NodeContext) -> Any:
        """Send the request; raise on transport errors and non-2xx answers."""
        settings = get_settings()
        timeout = config.timeout_seconds or settings.http_timeout_seconds
        send_body = config.method not in ("GET", "HEAD") and config.json_body is not None
        with guarded_client(EgressPolicy.from_settings(settings), timeout=timeout) as http:
            response = http.request(config.method, config.url, headers=config.headers,
                                    json=config.json_body if send_body else None)
        output = {"status_code": response.status_code, "body": _body(response)}
        if not response.is_success:
            raise HttpStatusError(f"{config.method} {config.url} answered {response.status_code}")
        return output


def _body(response: httpx.Response) -> Any:
    """JSON when the answer is JSON, else text (cut to 64 KiB, so a big page can't bloat the run log)."""
    try:
        return response.json()
    except ValueError:
        return response.text[:65536]
