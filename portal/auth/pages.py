"""Sign-in, sign-out and the profile page (with personal API tokens); routes.py serves API clients."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_jwt_extended import get_jwt, set_access_cookies, set_refresh_cookies, unset_jwt_cookies
from pydantic import ValidationError

from portal.audit.service import record, target_of
from portal.auth import mfa, session_control
from portal.auth.guard import current_user, public, requires
from portal.auth.mfa_pages import render_code_form, render_enrolment
from portal.auth.passwords import MIN_LENGTH
from portal.auth.service import sign_in
from portal.auth.session_control import Device
from portal.auth.sessions import issue_tokens, revoke
from portal.auth.tokens import TokenCreate, issue_token, own_tokens, revoke_token, serialize_token
from portal.errors import APIError, validation_error
from portal.extensions import db
from portal.notify.channels import warnings_for
from portal.rbac import AUTHENTICATED
from portal.settings.service import load_settings
from portal.users.schemas import ProfileUpdate
from portal.users.service import update_profile
from portal.web.context import can
from portal.web.forms import form_errors
from portal.web.security import from_this_site

bp = Blueprint("auth_pages", __name__, template_folder="templates")


def safe_next(value: str | None) -> str:
    """Only a path of this site, so the login page cannot bounce users to another one.
    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    ``/<tab>/evil.example`` is ``//evil.example`` to them: any control character or
    backslash refuses the value, as does anything with a scheme or a host."""
    if not value or "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return url_for("server_pages.dashboard")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return url_for("server_pages.dashboard")
    return value


@bp.route("/login", methods=["GET", "POST"])
@public("the sign-in page")
def login():
    next_url = request.args.get("next")
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, error=None, username="")
    if not from_this_site():  # login CSRF: another site signing the browser in as someone
        return render_template("auth/login.html", next=None, username="",
                               error="Sign in from this portal's own page."), 403
    username = request.form.get("username", "")[:64]
    try:
        user = sign_in(username, request.form.get("password", "")[:200],
                       request.remote_addr or "unknown")
    except APIError as exc:
        return render_template("auth/login.html", next=next_url, error=exc.message,
                               username=username), exc.status, exc.headers
    if mfa.needs_second_step(user, load_settings().mfa_required_roles):  # no session yet: mfa.py
        token = mfa.start_pending(user)
        if mfa.has_mfa(user):
            return render_code_form(token, next_url)
        return render_enrolment(user, token=token, next_url=next_url)
    access, refresh = issue_tokens(user.id, Device.of_request())
    response = redirect(safe_next(next_url))
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    return response


@bp.post("/logout")
@requires(AUTHENTICATED, page=True)
def logout():
    if g.auth_method == "jwt":
        revoke(get_jwt())
    record("auth.sign_out", target_of("user", current_user()), commit=True)
    g.logged_out = True
    response = redirect(url_for("auth_pages.login"))
    unset_jwt_cookies(response)
    return response


# --- profile ----------------------------------------------------------------------------

CONTACT_FIELDS = frozenset({"email", "phone", "notify_email", "notify_sms", "daily_digest"})
PASSWORD_FIELDS = frozenset({"current_password", "new_password", "confirm_password"})
TOKEN_FIELDS = frozenset({"name", "expires_in_days"})


def _render_profile(*, contact: dict | None = None, errors: dict[str, str] | None = None,
                    form: str | None = None, token_values: dict | None = None,
                    new_token: dict | None = None, status: int = 200):
    """The profile page; ``form`` names the form that ``errors`` belong to."""
    user = current_user()
    if contact is None:
        contact = {name: getattr(user, name) for name in CONTACT_FIELDS}
    tokens = [serialize_token(token) for token in db.session.scalars(own_tokens(user))] \
        if can("api.access") else []
    return render_template(
        "auth/profile.html", contact=contact, tokens=tokens, new_token=new_token,
        token_values=token_values or {"name": "", "expires_in_days": ""},
        errors={"contact": {}, "password": {}, "token": {}, **({form: errors} if form else {})},
        min_password=MIN_LENGTH, channel_warnings=warnings_for(user, load_settings()),
        mfa_status={"enabled": mfa.has_mfa(user),
                    "required": mfa.required_for(user, load_settings().mfa_required_roles),
                    "codes_left": mfa.recovery_codes_left(user)},
        sessions=[session_control.serialize_session(row, g.get("session_id"))
                  for row in session_control.active_sessions(user)],
    ), status


def _profile_update(data: dict) -> None:
    try:
        changes = ProfileUpdate.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    update_profile(current_user(), changes)


@bp.get("/profile")
@requires(AUTHENTICATED, page=True)
def profile():
    return _render_profile()


@bp.post("/profile")
@requires(AUTHENTICATED, page=True)
def profile_contact():
    form = request.form
    contact = {"email": form.get("email", "").strip(), "phone": form.get("phone", "").strip(),
               "notify_email": "notify_email" in form, "notify_sms": "notify_sms" in form,
               "daily_digest": "daily_digest" in form}
    try:
        _profile_update(contact)
    except APIError as exc:
        db.session.rollback()
        return _render_profile(contact=contact, errors=form_errors(exc, CONTACT_FIELDS), form="contact",
                               status=exc.status)
    flash("Your contact details and notification choices are saved.", "success")
    return redirect(url_for("auth_pages.profile"))


@bp.post("/profile/password")
@requires(AUTHENTICATED, page=True)
def profile_password():
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    errors: dict[str, str] = {}
    if not new:
        errors["new_password"] = "enter a new password"  # noqa: S105 - a message, not a password
    elif new != request.form.get("confirm_password", ""):
        errors["confirm_password"] = "does not match the new password"  # noqa: S105 - a message
    if not errors:
        try:
            _profile_update({"current_password": current, "new_password": new})
        except APIError as exc:
            errors = form_errors(exc, PASSWORD_FIELDS)
    if errors:
        return _render_profile(errors=errors, form="password", status=400)
    flash("Your password is changed; your other sessions are signed out.", "success")
    response = redirect(url_for("auth_pages.profile"))
    access, refresh = issue_tokens(current_user().id, Device.of_request())
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    g.pop("refreshed_access_token", None)
    return response


@bp.post("/profile/tokens")
@requires("api.access", page=True)
def token_create():
    """Shows the new token in this response, not after a redirect: it is never shown again."""
    values = {"name": request.form.get("name", "").strip(),
              "expires_in_days": request.form.get("expires_in_days", "").strip()}
    try:
        try:
            body = TokenCreate.model_validate({"name": values["name"],
                                               "expires_in_days": values["expires_in_days"] or None})
        except ValidationError as exc:
            raise validation_error(exc) from exc
        mfa.require_fresh(current_user(), get_jwt().get("mfa_at") if g.auth_method == "jwt" else None,
                          load_settings().mfa_required_roles)
        token, secret = issue_token(current_user(), body.name, body.expires_in_days)
    except APIError as exc:
        return _render_profile(errors=form_errors(exc, TOKEN_FIELDS), form="token", token_values=values,
                               status=exc.status)
    return _render_profile(new_token={**serialize_token(token), "secret": secret}, status=201)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@requires("api.access", page=True)
def token_revoke(token_id: int):
    revoke_token(current_user(), token_id)
    flash("The token is revoked; programs using it can no longer sign in with it.", "success")
    return redirect(url_for("auth_pages.profile"))
