"""/api/auth (sign in, refresh, sign out, the signed-in user's own profile and sessions)
and /api/tokens (personal API tokens)."""

from __future__ import annotations

import time

import jwt as pyjwt
from flask import Blueprint, current_app, g, jsonify, request
from flask_jwt_extended import (
    get_jwt,
    set_access_cookies,
    set_refresh_cookies,
    unset_jwt_cookies,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import CSRFError, JWTExtendedException

from portal.audit.service import record, target_of
from portal.auth import mfa, session_control
from portal.auth.guard import current_user, public, requires
from portal.auth.models import SignInSession, User
from portal.auth.service import sign_in
from portal.auth.session_control import Device
from portal.auth.sessions import access_from_refresh, issue_tokens, revoke
from portal.auth.tokens import TokenCreate, issue_token, own_tokens, revoke_token, serialize_token
from portal.errors import APIError
from portal.extensions import db
from portal.rbac import AUTHENTICATED, ROLE_LABELS
from portal.schemas import Strict, parse_json
from portal.settings.service import load_settings
from portal.users.schemas import ProfileUpdate
from portal.users.service import serialize_user, update_profile

bp = Blueprint("auth_api", __name__, url_prefix="/api/auth")
tokens_bp = Blueprint("tokens_api", __name__, url_prefix="/api/tokens")


class LoginIn(Strict):
    username: str
    password: str


def me_payload(user: User) -> dict:
    data = serialize_user(user)
    data["role_label"] = ROLE_LABELS[user.role]
    data["permissions"] = sorted(user.permissions)
    return data


@bp.post("/login")
@public("the sign-in endpoint itself")
def login():
    body = parse_json(LoginIn)
    user = sign_in(body.username, body.password, request.remote_addr or "unknown")
    if mfa.has_mfa(user):
        return jsonify(error="a two-factor code is required: POST it with mfa_token to "
                             "/api/auth/login/mfa", mfa_required=True,
                       mfa_token=mfa.start_pending(user),
                       details={"code": "required"}), 401
    if mfa.required_for(user, load_settings().mfa_required_roles):
        return jsonify(error="your role must use two-factor sign-in: set it up by signing in "
                             "on the portal's login page first", mfa_required=True,
                       mfa_enrolment_required=True, details={"mfa": "enrol in the browser"}), 403
    return _session_response(user, issue_tokens(user.id, Device.of_request()))


class LoginMfaIn(Strict):
    mfa_token: str
    code: str


@bp.post("/login/mfa")
@public("the second step of signing in; the mfa_token from the first step is checked")
def login_mfa():
    body = parse_json(LoginMfaIn)
    user = mfa.complete_with_code(body.mfa_token, body.code, request.remote_addr or "unknown")
    return _session_response(user, issue_tokens(user.id, Device.of_request(), mfa_at=time.time()))


def _session_response(user: User, tokens: tuple[str, str]):
    access, refresh = tokens
    response = jsonify(access_token=access, refresh_token=refresh, user=me_payload(user))
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    return response


@bp.post("/refresh")
def refresh():
    try:
        verify_jwt_in_request(refresh=True)
    except CSRFError as exc:
        raise APIError(403, "missing or incorrect CSRF token") from exc
    except (JWTExtendedException, pyjwt.PyJWTError) as exc:
        raise APIError(401, "a valid refresh token is required") from exc
    claims = get_jwt()
    user = db.session.get(User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise APIError(401, "account disabled or removed")
    problem = session_control.refusal(db.session.get(SignInSession, claims["sid"]))
    if problem is not None:
        raise APIError(401, problem)
    access = access_from_refresh(claims)
    response = jsonify(access_token=access)
    if request.cookies.get(current_app.config["JWT_REFRESH_COOKIE_NAME"]):
        set_access_cookies(response, access)
    return response


refresh.required_permission = "refresh token"  # checked above: a refresh JWT for an active user


@bp.post("/logout")
@requires(AUTHENTICATED)
def logout():
    if g.auth_method != "jwt":
        raise APIError(400, "personal API tokens are revoked under /api/tokens",
                       {"authorization": "not a session token"})
    revoke(get_jwt())
    record("auth.sign_out", target_of("user", current_user()), commit=True)
    g.logged_out = True
    response = jsonify(ok=True)
    unset_jwt_cookies(response)
    return response


@bp.get("/me")
@requires(AUTHENTICATED)
def me():
    return jsonify(me_payload(current_user()))


@bp.patch("/me")
@requires(AUTHENTICATED)
def update_me():
    changes = parse_json(ProfileUpdate)
    user = update_profile(current_user(), changes)
    if changes.new_password is None:
        return jsonify(me_payload(user))
    # Every older session has just ended; this one carries on with new tokens.
    access, refresh = issue_tokens(user.id, Device.of_request())
    response = jsonify(**me_payload(user), access_token=access, refresh_token=refresh)
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    g.pop("refreshed_access_token", None)
    return response


@bp.get("/sessions")
@requires(AUTHENTICATED)
def list_sessions():
    current = g.get("session_id")
    return jsonify(items=[session_control.serialize_session(row, current)
                          for row in session_control.active_sessions(current_user())])


@bp.delete("/sessions/<session_id>")
@requires(AUTHENTICATED)
def end_session(session_id: str):
    """One of your own sessions (this one too: that is a sign-out without clearing cookies)."""
    session_control.end_one(current_user(), session_id)
    return "", 204


@bp.delete("/sessions")
@requires(AUTHENTICATED)
def end_other_sessions():
    """``?others=true`` is required, so that a bare DELETE is not read as "sign me out
    everywhere": every session but the one asking (all of them for a personal API token)."""
    if request.args.get("others") not in ("1", "true"):
        raise APIError(400, "say others=true to end every session but this one",
                       {"others": "must be true"})
    return jsonify(ended=session_control.end_others(current_user(), g.get("session_id")))


@tokens_bp.get("")
@requires("api.access")
def list_tokens():
    return jsonify(items=[serialize_token(t) for t in db.session.scalars(own_tokens(current_user()))])


@tokens_bp.post("")
@requires("api.access")
def create_token():
    body = parse_json(TokenCreate)
    mfa.require_fresh(current_user(), get_jwt().get("mfa_at") if g.auth_method == "jwt" else None,
                      load_settings().mfa_required_roles)
    token, secret = issue_token(current_user(), body.name, body.expires_in_days)
    return jsonify(token=secret, **serialize_token(token)), 201


@tokens_bp.delete("/<int:token_id>")
@requires("api.access")
def delete_token(token_id: int):
    revoke_token(current_user(), token_id)
    return "", 204
