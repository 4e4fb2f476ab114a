"""API tokens on the wire: ``TokenCreate``, ``TokenPublic``, ``TokenIssued``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from rqflow.schemas.common import Name, StrictInput

# A token may live at most ten years; without an expiry it lives until revoked.
MAX_EXPIRES_IN_SECONDS = 10 * 365 * 86400


class TokenCreate(StrictInput):
    """Body of ``POST /api/v1/tokens``."""

    name: Name = Field(description="What the token is for (shown in listings).")
    expires_in_seconds: int | None = Field(default=None, ge=60, le=MAX_EXPIRES_IN_SECONDS, strict=True,
                                           description="Stop working this many seconds from now; none: until revoked.")


class TokenPublic(BaseModel):
    """A token as listed: never the token itself (only its digest is stored)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    """A new token, shown this once."""

    token: str = Field(description="The bearer token; it cannot be shown again.")
