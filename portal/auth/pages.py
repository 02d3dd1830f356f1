"""Sign-in and sign-out pages; the JSON API in routes.py does the same for API clients."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_jwt_extended import get_jwt, set_access_cookies, set_refresh_cookies, unset_jwt_cookies

from portal.auth.guard import public, requires
from portal.auth.service import sign_in
from portal.auth.sessions import issue_tokens, revoke
from portal.errors import APIError
from portal.rbac import AUTHENTICATED

bp = Blueprint("auth_pages", __name__, template_folder="templates")


def safe_next(value: str | None) -> str:
    """Only same-site paths, so the login page cannot bounce users to another site."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return url_for("server_pages.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public("the sign-in page")
def login():
    next_url = request.args.get("next")
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, error=None, username="")
    username = request.form.get("username", "")[:64]
    try:
        user = sign_in(username, request.form.get("password", "")[:200],
                       request.remote_addr or "unknown")
    except APIError as exc:
        return render_template("auth/login.html", next=next_url, error=exc.message,
                               username=username), exc.status, exc.headers
    access, refresh = issue_tokens(user.id)
    response = redirect(safe_next(next_url))
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    return response


@bp.post("/logout")
@requires(AUTHENTICATED, page=True)
def logout():
    if g.auth_method == "jwt":
        revoke(get_jwt())
    g.logged_out = True
    response = redirect(url_for("auth_pages.login"))
    unset_jwt_cookies(response)
    return response
