"""The query parameters every list route takes: one page of at most 500, from an offset."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from rqflow.schemas.common import MAX_DB_INT

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT)]
