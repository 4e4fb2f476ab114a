"""Users and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.errors import AuthenticationFailed, Conflict
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


def create_token(*, db: Session, user: UserProfile, label: str = "") -> str:
    """Issue a new token for ``user``."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(ApiToken(user_profile_id=user.id, token_digest=digest_token(token), label=label))
    db.flush()
    return token


def authenticate(*, db: Session, token: str) -> UserProfile:
    """The user owning ``token``, or AuthenticationFailed."""
    digest = digest_token(token)
    row = db.scalar(select(ApiToken).where(ApiToken.token_digest == digest))
    # The lookup is by digest; compare again in constant time so no timing leaks the stored value.
    if row is None or not hmac.compare_digest(row.token_digest, digest):
        raise AuthenticationFailed("invalid API token")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.user


def get_user_by_name(*, db: Session, name: str) -> UserProfile | None:
    """The user called ``name``, if any."""
    return db.scalar(select(UserProfile).where(UserProfile.name == name))
