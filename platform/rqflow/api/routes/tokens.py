"""``/api/v1/tokens``: the caller's own API tokens: list, issue, revoke; and the secret that signs their webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Response, status

from rqflow.api.deps import CurrentUser, SessionDep
from rqflow.api.routing import SlashTolerantRouter
from rqflow.models import ApiToken
from rqflow.schemas.common import MAX_DB_INT
from rqflow.schemas.notify import WebhookSecretPublic
from rqflow.schemas.token import TokenCreate, TokenIssued, TokenPublic
from rqflow.services import notification_deliveries
from rqflow.services import users as service

router = SlashTolerantRouter(prefix="/api/v1/tokens", tags=["tokens"])
secret_router = SlashTolerantRouter(prefix="/api/v1/webhook-secret", tags=["tokens"])
TokenId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]


@router.get("", response_model=list[TokenPublic])
def list_tokens(db: SessionDep, user: CurrentUser) -> list[TokenPublic]:
    """Your tokens, oldest first, revoked and expired ones included."""
    return [token_public(row) for row in service.list_tokens(db=db, user=user)]


@router.post("", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def issue_token(data: TokenCreate, db: SessionDep, user: CurrentUser) -> TokenIssued:
    """Issue another token for yourself; the answer is the only time it is shown."""
    expires_in = timedelta(seconds=data.expires_in_seconds) if data.expires_in_seconds is not None else None
    row, token = service.issue_token(db=db, user=user, label=data.name, expires_in=expires_in)
    return TokenIssued(**token_public(row).model_dump(), token=token)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: TokenId, db: SessionDep, user: CurrentUser) -> Response:
    """Revoke one of your tokens: it stops working at once (the one you call with included)."""
    service.revoke_token(db=db, token_id=token_id, owner=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def token_public(row: ApiToken) -> TokenPublic:
    """A token's row as the API shows it."""
    return TokenPublic(id=row.id, name=row.label, created_at=row.created_at, expires_at=row.expires_at,
                       last_used_at=row.last_used_at, revoked_at=row.revoked_at)


@secret_router.get("", response_model=WebhookSecretPublic)
def get_webhook_secret(db: SessionDep, user: CurrentUser) -> WebhookSecretPublic:
    """The secret your webhook notifications are signed with (made on first use), and how to check a signature."""
    return WebhookSecretPublic(secret=notification_deliveries.webhook_secret(db, user.id))


@secret_router.post("/rotate", response_model=WebhookSecretPublic)
def rotate_webhook_secret(db: SessionDep, user: CurrentUser) -> WebhookSecretPublic:
    """Replace your webhook secret; every try sent from now on is signed with the new one."""
    return WebhookSecretPublic(secret=notification_deliveries.rotate_webhook_secret(db, user.id))
