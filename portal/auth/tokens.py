"""/api/tokens: personal API tokens, shown once and stored as a SHA-256 digest.

The tokens carry 256 bits of randomness, so a fast digest is enough (a slow KDF is for
guessable passwords) and lookups stay cheap on every API call.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, jsonify
from pydantic import Field
from sqlalchemy import select

from portal.auth.guard import API_TOKEN_PREFIX, current_user, hash_api_token, requires
from portal.auth.models import ApiToken
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.schemas import Line, Strict, parse_json

bp = Blueprint("tokens_api", __name__, url_prefix="/api/tokens")

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


def own_tokens():
    return select(ApiToken).where(ApiToken.user_id == current_user().id).order_by(ApiToken.id)


@bp.get("")
@requires("api.access")
def list_tokens():
    return jsonify(items=[serialize_token(t) for t in db.session.scalars(own_tokens())])


def issue_token(name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    user = current_user()
    if len(db.session.scalars(own_tokens()).all()) >= MAX_TOKENS_PER_USER:
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
    db.session.commit()
    return token, secret


@bp.post("")
@requires("api.access")
def create_token():
    body = parse_json(TokenCreate)
    token, secret = issue_token(body.name, body.expires_in_days)
    return jsonify(token=secret, **serialize_token(token)), 201


def revoke_token(token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user().id:
        raise APIError(404, f"no token with id {token_id}", {"id": "not found"})
    db.session.delete(token)
    db.session.commit()


@bp.delete("/<int:token_id>")
@requires("api.access")
def delete_token(token_id: int):
    revoke_token(token_id)
    return "", 204
