"""Personal API tokens: shown once, stored as a SHA-256 digest, each one its user's own.

The tokens carry 256 bits of randomness, so a fast digest is enough (a slow KDF is for
guessable passwords) and lookups stay cheap on every API call.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from pydantic import Field
from sqlalchemy import Select, select

from portal.audit.service import record, target_of
from portal.auth.guard import API_TOKEN_PREFIX, hash_api_token
from portal.auth.models import ApiToken, User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.schemas import Line, Strict

MAX_TOKENS_PER_USER = 20


class TokenCreate(Strict):
    name: Line = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


def serialize_token(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def own_tokens(user: User) -> Select:
    return select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)


def issue_token(user: User, name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    """A new token and its secret, which is never stored and never shown again."""
    if len(db.session.scalars(own_tokens(user)).all()) >= MAX_TOKENS_PER_USER:
        raise APIError(409, f"at most {MAX_TOKENS_PER_USER} tokens per user; revoke one first",
                       {"name": "too many tokens"})
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:12],
        token_hash=hash_api_token(secret),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.flush()
    record("token.created", target_of("token", token), actor=user,
           after={"owner": user.username, "prefix": token.prefix,
                  "expires_at": token.expires_at.isoformat() if token.expires_at else None})
    db.session.commit()
    return token, secret


def revoke_token(user: User, token_id: int) -> None:
    """Someone else's token is answered as missing, not as forbidden."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise APIError(404, f"no token with id {token_id}", {"id": "not found"})
    target = target_of("token", token)
    db.session.delete(token)
    record("token.revoked", target, actor=user, before={"owner": user.username,
                                                          "prefix": token.prefix})
    db.session.commit()
