"""``http_request``: call an HTTP endpoint; a non-2xx answer fails the node."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator

from rqflow.egress import Answer, EgressPolicy, exchange, guarded_client, url_for_config
from rqflow.node_types.base import Component, NodeConfig, NodeContext
from rqflow.node_types.registry import register
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
            answer = exchange(http, config.method, config.url, seconds=timeout,
                              max_bytes=settings.http_max_response_bytes, headers=config.headers,
                              json=config.json_body if send_body else None)
        output = {"status_code": answer.status_code, "body": _body(answer)}
        if not answer.is_success:
            raise HttpStatusError(f"{config.method} {config.url} answered {answer.status_code}")
        return output


def _body(answer: Answer) -> Any:
    """JSON when the answer is JSON, else text (both bounded by RQFLOW_HTTP_MAX_RESPONSE_BYTES)."""
    text = answer.body.decode(answer.encoding, errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
