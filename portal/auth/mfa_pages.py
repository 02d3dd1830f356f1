"""Pages for two-factor sign-in: the login's second step, enrolment (at sign-in or from the
profile), recovery codes, switching off, and an administrator's reset. The logic is in
auth/mfa.py; the login's first step is in auth/pages.py."""

from __future__ import annotations

import time

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_jwt_extended import set_access_cookies, set_refresh_cookies

from portal.auth import mfa
from portal.auth.guard import current_user, public, requires
from portal.auth.models import User
from portal.auth.session_control import Device
from portal.auth.sessions import issue_tokens
from portal.errors import APIError
from portal.lookups import get_or_404
from portal.rbac import AUTHENTICATED
from portal.settings.service import load_settings
from portal.web.security import from_this_site

bp = Blueprint("mfa_pages", __name__, template_folder="templates")


def _address() -> str:
    return request.remote_addr or "unknown"


def _with_session(response, user: User):
    response = make_response(response)
    access, refresh = issue_tokens(user.id, Device.of_request(), mfa_at=time.time())
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    return response


def render_code_form(token: str, next_url: str | None, error: str | None = None,
                     status: int = 200, headers: dict | None = None):
    return render_template("auth/login_code.html", mfa_token=token, next=next_url,
                           error=error), status, headers or {}


def render_enrolment(user: User, *, token: str | None, next_url: str | None,
                     error: str | None = None, status: int = 200, headers: dict | None = None):
    """The QR code and the secret as text; ``token`` set: enrolment as the login's second step."""
    secret = mfa.begin_enrolment(user)
    required = mfa.required_for(user, load_settings().mfa_required_roles)
    return render_template("auth/enrol.html", mfa_token=token, next=next_url, error=error,
                           secret=secret, qr=mfa.qr_svg(mfa.provisioning_uri(user, secret)),
                           username=user.username, codes=None,
                           required=required), status, headers or {}


def _refused():
    return render_template("auth/login.html", next=None, username="",
                           error="Sign in from this portal's own page."), 403


@bp.post("/login/code")
@public("the sign-in's second step; the pending token from the first is checked")
def login_code():
    from portal.auth.pages import safe_next

    if not from_this_site():
        return _refused()
    token = request.form.get("mfa_token", "")
    next_url = request.form.get("next") or None
    try:
        user = mfa.complete_with_code(token, request.form.get("code", "")[:64], _address())
    except APIError as exc:
        if "mfa_token" in exc.details:
            return render_template("auth/login.html", next=next_url, username="",
                                   error=exc.message), exc.status
        return render_code_form(token, next_url, exc.message, exc.status, exc.headers)
    return _with_session(redirect(safe_next(next_url)), user)


@bp.post("/login/enrol")
@public("enrolment as the sign-in's second step; the pending token from the first is checked")
def login_enrol():
    from portal.auth.pages import safe_next

    if not from_this_site():
        return _refused()
    token = request.form.get("mfa_token", "")
    next_url = request.form.get("next") or None
    try:
        pending = mfa.peek_pending(token)
    except APIError as exc:
        return render_template("auth/login.html", next=next_url, username="",
                               error=exc.message), exc.status
    try:
        user, codes = mfa.complete_enrolment(token, request.form.get("code", "")[:64], _address())
    except APIError as exc:
        return render_enrolment(pending.user, token=token, next_url=next_url, error=exc.message,
                                status=exc.status, headers=exc.headers)
    page = render_template("auth/enrol.html", codes=codes, next=safe_next(next_url),
                           mfa_token=None, username=user.username)
    return _with_session(page, user)


@bp.route("/profile/mfa", methods=["GET", "POST"])
@requires(AUTHENTICATED, page=True)
def profile_enrol():
    user = current_user()
    if mfa.has_mfa(user):
        return redirect(url_for("auth_pages.profile"))
    if request.method == "GET":
        return render_enrolment(user, token=None, next_url=None)
    try:
        codes = mfa.confirm_enrolment(user, request.form.get("code", "")[:64], _address())
    except APIError as exc:
        return render_enrolment(user, token=None, next_url=None, error=exc.message,
                                status=exc.status, headers=exc.headers)
    page = render_template("auth/enrol.html", codes=codes, next=url_for("auth_pages.profile"),
                           mfa_token=None, username=user.username)
    return _with_session(page, user)


@bp.post("/profile/mfa/recovery-codes")
@requires(AUTHENTICATED, page=True)
def profile_recovery_codes():
    user = current_user()
    try:
        codes = mfa.regenerate_recovery_codes(user, request.form.get("code", "")[:64], _address())
    except APIError as exc:
        flash(f"Recovery codes not changed: {exc.message}.", "danger")
        return redirect(url_for("auth_pages.profile"))
    return render_template("auth/enrol.html", codes=codes, next=url_for("auth_pages.profile"),
                           mfa_token=None, username=user.username)


@bp.post("/profile/mfa/disable")
@requires(AUTHENTICATED, page=True)
def profile_disable():
    try:
        mfa.disable(current_user(), request.form.get("code", "")[:64], _address(),
                    load_settings().mfa_required_roles)
    except APIError as exc:
        flash(f"Two-factor sign-in is still on: {exc.message}.", "danger")
        return redirect(url_for("auth_pages.profile"))
    flash("Two-factor sign-in is switched off.", "success")
    return redirect(url_for("auth_pages.profile"))


@bp.post("/admin/users/<int:user_id>/mfa/reset")
@requires("users.manage", page=True)
def admin_reset(user_id: int):
    user = get_or_404(User, user_id, "user")
    mfa.reset(current_user(), user)
    flash(f"Two-factor sign-in of {user.username} is reset; they set it up again at their "
          "next sign-in, and their sessions have ended.", "success")
    return redirect(url_for("admin_pages.user_edit", user_id=user.id))
