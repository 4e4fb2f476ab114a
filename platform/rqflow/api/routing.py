"""A router whose paths answer with and without a trailing slash, without a redirect.

FastAPI's default answers the other form with a 307, which ``curl -X POST``
without ``-L`` and many HTTP clients do not follow for a POST.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


class SlashTolerantRouter(APIRouter):
    """Registers every route at ``/path`` and, hidden from the docs, at ``/path/``."""

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        base = path.rstrip("/")
        super().add_api_route(base, endpoint, **kwargs)
        hidden = {**kwargs, "include_in_schema": False, "operation_id": None}
        super().add_api_route(base + "/", endpoint, **hidden)
