"""Who is calling, and may they? One decorator that every endpoint and page wears.

``requires(key)`` authenticates the request (personal API token, JWT bearer header or
session cookie), loads the user fresh from the database (so a disabled account or a
changed role takes effect at once), and checks the permission key. The key is kept on
the view function so a test can walk the URL map and find any route without one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

import jwt as pyjwt
from flask import current_app, g, redirect, request, url_for
from flask_jwt_extended import decode_token, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import CSRFError, JWTExtendedException, NoAuthorizationError

from portal.audit.service import Target, record_sampled
from portal.auth import session_control
from portal.auth.models import ApiToken, User
from portal.auth.sessions import (
    access_from_refresh,
    is_jti_revoked,
    needs_refresh,
    schedule_cookie_refresh,
    well_formed,
)
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.rbac import has_permission

F = TypeVar("F", bound=Callable[..., Any])

API_TOKEN_PREFIX = "smt_"  # noqa: S105 - a prefix, not a secret
SEEN_RESOLUTION = timedelta(seconds=60)


class NotAuthenticated(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current_user() -> User:
    return g.user


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user_from_api_token(token: str) -> User:
    row = db.session.execute(
        db.select(ApiToken).where(ApiToken.token_hash == hash_api_token(token))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        raise NotAuthenticated("invalid or expired API token")
    if not row.user.can("api.access"):
        raise NotAuthenticated("API tokens need the api.access permission")
    if row.last_used_at is None or now - row.last_used_at > SEEN_RESOLUTION:
        row.last_used_at = now
        db.session.commit()
    g.auth_method = "api_token"
    g.api_token_id = row.id  # the audit trail names the token as well as its owner
    return row.user


def _user_id_from_refresh_cookie() -> str | None:
    """Implicit refresh for page loads: a valid refresh cookie mints a new access cookie."""
    name = current_app.config["JWT_REFRESH_COOKIE_NAME"]
    token = request.cookies.get(name)
    if not token:
        return None
    try:
        claims = decode_token(token)
    except (JWTExtendedException, pyjwt.PyJWTError):
        return None
    if claims.get("type") != "refresh" or not well_formed(claims) or is_jti_revoked(claims["jti"]):
        return None
    schedule_cookie_refresh(access_from_refresh(claims))
    return claims["sub"]


def _user_id_from_jwt(allow_refresh_cookie: bool) -> str:
    try:
        verify_jwt_in_request()
    except CSRFError as exc:
        raise APIError(403, "missing or incorrect CSRF token") from exc
    except NoAuthorizationError as exc:
        user_id = _user_id_from_refresh_cookie() if allow_refresh_cookie else None
        if user_id is None:
            raise NotAuthenticated("sign-in required") from exc
        return user_id
    except pyjwt.ExpiredSignatureError as exc:
        user_id = _user_id_from_refresh_cookie() if allow_refresh_cookie else None
        if user_id is None:
            raise NotAuthenticated("session expired; sign in again") from exc
        return user_id
    except (JWTExtendedException, pyjwt.PyJWTError) as exc:
        raise NotAuthenticated("invalid or revoked token") from exc
    claims = get_jwt()
    lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    if request.cookies.get(current_app.config["JWT_ACCESS_COOKIE_NAME"]) and needs_refresh(
        claims, lifetime
    ):
        schedule_cookie_refresh(access_from_refresh({
            "sub": claims["sub"], "jti": claims["rjti"], "exp": claims["rexp"],
            "siat": claims["siat"], "sid": claims["sid"], "mfa_at": claims.get("mfa_at"),
        }))
    g.auth_method = "jwt"
    return claims["sub"]


def session_claims() -> dict:
    """The request's access claims: ``siat`` (when the session began) and ``sid`` (its
    row), as sign-in set them and every refresh carried them; a request let in by the
    refresh cookie alone has the claims of the access token minted for it."""
    fresh = g.get("refreshed_access_token")
    return decode_token(fresh) if fresh else get_jwt()


def authenticate(*, allow_refresh_cookie: bool = False) -> User:
    header = request.headers.get("Authorization", "")
    g.session_id = None  # the sign-in session asking; none for a personal API token
    if header.startswith("Bearer " + API_TOKEN_PREFIX):
        user = _user_from_api_token(header[len("Bearer "):].strip())
    else:
        user_id = _user_id_from_jwt(allow_refresh_cookie)
        claims = session_claims()
        user, row = session_control.load(int(user_id), claims["sid"])  # well_formed: a user id
        if user is None:
            raise NotAuthenticated("account no longer exists")
        problem = session_control.refusal(row)
        if problem is not None:
            raise NotAuthenticated(problem)
        g.session_id = claims["sid"]
    if not user.is_active:
        raise NotAuthenticated("account disabled")
    now = utcnow()
    if user.last_seen_at is None or now - user.last_seen_at > SEEN_RESOLUTION:
        user.last_seen_at = now
        db.session.commit()
    g.user = user
    return user


def requires(key: str, *, page: bool = False) -> Callable[[F], F]:
    """Authenticate, then demand permission ``key``; pages redirect to sign-in instead of 401."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            safe = request.method in ("GET", "HEAD")
            try:
                user = authenticate(allow_refresh_cookie=page and safe)
            except NotAuthenticated as exc:
                if page:
                    return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
                raise APIError(401, exc.message) from exc
            if not has_permission(user.role, key):
                raise APIError(403, f"your role does not have the {key} permission",
                               {"permission": key})
            return view(*args, **kwargs)

        wrapper.required_permission = key  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def public(reason: str) -> Callable[[F], F]:
    """Mark a route as deliberately open (sign-in page, health, metrics, token-checked hooks)."""

    def decorator(view: F) -> F:
        view.public_reason = reason  # type: ignore[attr-defined]
        return view

    return decorator


def check_bearer(expected: str, caller: str) -> None:
    """For ``public`` routes that machines call with a shared secret (service discovery,
    Alertmanager): compared in constant time. A refusal is audited, once a minute per
    address, so that a flood of them cannot flood the trail."""
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        record_sampled(f"token-refused:{caller}:{request.remote_addr}", "machine_token.refused",
                       Target("endpoint", request.path, caller),
                       detail={"bearer": "wrong" if given else "missing"})
        raise APIError(401, "a valid bearer token is required", {"authorization": "invalid"},
                       headers={"WWW-Authenticate": "Bearer"})
