"""Users and API tokens: issue, authenticate, list and revoke.

A token is shown once, when it is issued; only its digest is stored. It may expire
(``expires_at``) and can be revoked; either way it stops working at once, on the API, MCP
and the dashboard (whose sessions belong to the token that signed in).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.errors import AuthenticationFailed, Conflict, TokenNotFound
from rqflow.models import ApiToken, UserProfile, utcnow

TOKEN_PREFIX = "rqf_"
# ``last_used_at`` is written at most this often: a write on every request would put each request
# of one token in line behind the others (PostgreSQL's row lock) and make every GET a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def digest_token(token: str) -> str:
    """SHA-256 of the token: tokens are long and random, so a fast digest is enough to hide them."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(*, db: Session, name: str) -> tuple[UserProfile, str]:
    """Create a user and a first token; the token is returned once and never stored in clear."""
    if db.scalar(select(UserProfile).where(UserProfile.name == name)) is not None:
        raise Conflict(f"user {name!r} already exists", field="name")
    user = UserProfile(name=name)
    db.add(user)
    db.flush()
    return user, create_token(db=db, user=user, label="created with the user")


def create_token(*, db: Session, user: UserProfile, label: str = "", expires_in: timedelta | None = None) -> str:
    """Issue a new token for ``user`` (named ``label``, expiring after ``expires_in`` if given)."""
    return issue_token(db=db, user=user, label=label, expires_in=expires_in)[1]


def issue_token(
    *, db: Session, user: UserProfile, label: str = "", expires_in: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Issue a new token; return its row and the token itself (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_profile_id=user.id, token_digest=digest_token(token), label=label, created_at=now,
                   expires_at=now + expires_in if expires_in is not None else None)
    db.add(row)
    db.flush()
    return row, token


def authenticate(*, db: Session, token: str) -> UserProfile:
    """The user owning ``token``, or AuthenticationFailed."""
    return authenticate_token(db=db, token=token).user


def authenticate_token(*, db: Session, token: str) -> ApiToken:
    """The token's row if it is valid now (known, not expired, not revoked), or AuthenticationFailed."""
    digest = digest_token(token)
    row = db.scalar(select(ApiToken).where(ApiToken.token_digest == digest))
    # The lookup is by digest; compare again in constant time so no timing leaks the stored value.
    if row is None or not hmac.compare_digest(row.token_digest, digest):
        raise AuthenticationFailed("invalid API token")
    now = utcnow()
    check_usable(row, now)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


def check_usable(row: ApiToken, now: datetime) -> None:
    """AuthenticationFailed for a revoked or expired token (its holder may know why)."""
    if row.revoked_at is not None:
        raise AuthenticationFailed("this API token was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationFailed("this API token has expired")


def list_tokens(*, db: Session, user: UserProfile) -> list[ApiToken]:
    """The user's tokens, oldest first, revoked and expired ones included."""
    return list(db.scalars(select(ApiToken).where(ApiToken.user_profile_id == user.id).order_by(ApiToken.id)))


def revoke_token(*, db: Session, token_id: int, owner: UserProfile | None = None) -> ApiToken:
    """Revoke a token (an owner may only revoke their own: another's is TokenNotFound); revoking twice is a no-op."""
    row = db.get(ApiToken, token_id)
    if row is None or (owner is not None and row.user_profile_id != owner.id):
        raise TokenNotFound(token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def get_user_by_name(*, db: Session, name: str) -> UserProfile | None:
    """The user called ``name``, if any."""
    return db.scalar(select(UserProfile).where(UserProfile.name == name))
