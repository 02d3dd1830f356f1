"""JWT sessions (flask-jwt-extended): issue, refresh implicitly, revoke.

Browsers get httpOnly cookies with CSRF double-submit; API clients get the same tokens in
the JSON body for a bearer header. Every access token names its refresh token (``rjti``,
``rexp``), so one logout revokes both, whichever way the client signed in. Revoked jtis
live in Redis for the token's remaining lifetime. Both tokens also name their sign-in
session (``sid``, a row of auth/session_control.py), which the guard checks on every
request: ending the row ends every token minted from it.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import redis
from flask import Flask, Response, current_app, g
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    set_access_cookies,
)

from portal.auth.session_control import Device, end_signed_out, start
from portal.errors import APIError
from portal.extensions import jwt
from portal.realtime.publish import check_sessions_of
from portal.redis_client import get_redis

REVOKED_PREFIX = "jwt:revoked:"


COOKIES = {"JWT_ACCESS_COOKIE_NAME": "access_token_cookie",
           "JWT_REFRESH_COOKIE_NAME": "refresh_token_cookie",
           "JWT_ACCESS_CSRF_COOKIE_NAME": "csrf_access_token",
           "JWT_REFRESH_CSRF_COOKIE_NAME": "csrf_refresh_token"}


def cookie_names(secure: bool) -> dict[str, str]:
    """With Secure cookies, ``__Host-`` names: a browser takes such a cookie only when it is
    Secure, for the path / and without a Domain, so a sibling subdomain or a plain-http
    page cannot plant one (session fixation, a forged CSRF value)."""
    prefix = "__Host-" if secure else ""
    return {setting: prefix + name for setting, name in COOKIES.items()}


def configure_jwt(app: Flask) -> None:
    cfg = app.config["SERVERMON"]
    app.config.update(
        JWT_SECRET_KEY=cfg.secret_key,
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=cfg.access_token_minutes),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(hours=cfg.refresh_token_hours),
        JWT_COOKIE_SECURE=cfg.cookie_secure,
        JWT_COOKIE_SAMESITE="Lax",
        JWT_COOKIE_CSRF_PROTECT=True,
        JWT_CSRF_CHECK_FORM=True,
        JWT_ACCESS_COOKIE_PATH="/",
        JWT_REFRESH_COOKIE_PATH="/",
        JWT_SESSION_COOKIE=True,
        **cookie_names(cfg.cookie_secure),
    )
    jwt.init_app(app)

    @jwt.token_in_blocklist_loader
    def is_revoked(_header: dict, payload: dict) -> bool:
        """Its own jti revoked, or its session's: every access token a refresh minted
        names the refresh token (``rjti``), so one sign-out ends all of them."""
        jti = payload.get("jti")
        if not isinstance(jti, str):
            return True  # no jti: not one of ours
        rjti = payload.get("rjti")
        return is_jti_revoked(jti, *([rjti] if isinstance(rjti, str) else []))

    @jwt.token_verification_loader
    def verify(_header: dict, payload: dict) -> bool:
        return well_formed(payload)


ACCESS_CLAIMS = {"sub": str, "jti": str, "exp": (int, float), "rjti": str, "rexp": (int, float),
                 "siat": (int, float), "sid": str}
REFRESH_CLAIMS = {"sub": str, "jti": str, "exp": (int, float), "siat": (int, float), "sid": str}
_USER_ID = re.compile(r"[1-9][0-9]{0,17}")


def well_formed(claims: dict) -> bool:
    """Every claim the portal reads is there, of its type, the subject a user id: a token
    signed with the key but not minted by issue_tokens (a leaked key, a test) is refused
    as invalid, not a 500 where a claim is read."""
    needed = REFRESH_CLAIMS if claims.get("type") == "refresh" else ACCESS_CLAIMS
    return all(isinstance(claims.get(name), kind) and not isinstance(claims.get(name), bool)
               for name, kind in needed.items()) and bool(_USER_ID.fullmatch(claims["sub"]))


def is_jti_revoked(*jtis: str) -> bool:
    """Whether any of these is revoked (one round trip)."""
    try:
        return bool(get_redis().exists(*(REVOKED_PREFIX + jti for jti in jtis)))
    except redis.RedisError as exc:
        raise APIError(503, "session store unavailable; try again shortly") from exc


def _mfa_claim(mfa_at: object) -> dict:
    """``mfa_at``: when this session last passed a second factor (auth/mfa.py), optional."""
    return {"mfa_at": float(mfa_at)} if isinstance(mfa_at, (int, float)) else {}


def issue_tokens(user_id: int, device: Device, *, mfa_at: float | None = None) -> tuple[str, str]:
    """A new session: its row (``device``: what the session list shows) and its tokens.
    ``siat`` (session start, to the microsecond, unlike ``iat``) lets a password change end
    every session begun before it, refreshed or not."""
    started = time.time()
    sid = start(user_id, device)
    refresh = create_refresh_token(identity=str(user_id), additional_claims={
        "siat": started, "sid": sid, **_mfa_claim(mfa_at)})
    claims = decode_token(refresh)
    access = create_access_token(identity=str(user_id), additional_claims={
        "rjti": claims["jti"], "rexp": claims["exp"], "siat": started, "sid": sid,
        **_mfa_claim(mfa_at)})
    return access, refresh


def access_from_refresh(refresh_claims: dict) -> str:
    """A new access token in the refresh token's session, expiring no later than it: a
    session ends at the refresh token's expiry however often its access token is renewed."""
    lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    left = timedelta(seconds=max(refresh_claims["exp"] - time.time(), 1))
    return create_access_token(
        identity=refresh_claims["sub"], expires_delta=min(lifetime, left),
        additional_claims={"rjti": refresh_claims["jti"], "rexp": refresh_claims["exp"],
                           "siat": refresh_claims["siat"], "sid": refresh_claims["sid"],
                           **_mfa_claim(refresh_claims.get("mfa_at"))},
    )


def revoke(claims: dict) -> None:
    """Sign-out: end the session (its row) and revoke the token these claims belong to and,
    for an access token, its refresh token."""
    end_signed_out(claims["sid"])
    now = int(time.time())
    pipe = get_redis().pipeline()
    pairs = [(claims["jti"], claims["exp"])]
    if "rjti" in claims:
        pairs.append((claims["rjti"], claims["rexp"]))
    for jti, exp in pairs:
        pipe.set(REVOKED_PREFIX + jti, "1", ex=max(exp - now, 1))
    pipe.execute()
    check_sessions_of(int(claims["sub"]))  # its open WebSockets close before any later event


def schedule_cookie_refresh(access_token: str) -> None:
    """Ask after_request to replace the access cookie (implicit refresh)."""
    g.refreshed_access_token = access_token


def needs_refresh(claims: dict, lifetime: timedelta) -> bool:
    """An access token in its last third is renewed, unless its session (``rexp``) is over."""
    now = time.time()
    return claims["exp"] - now < lifetime.total_seconds() / 3 and claims["rexp"] > now


def apply_cookie_refresh(response: Response) -> Response:
    token = g.pop("refreshed_access_token", None)
    if token and not g.get("logged_out"):
        set_access_cookies(response, token)
    return response

