"""Pages for sign-in sessions: the profile's "sign out this one" and "sign out all others",
and an administrator's "end all sessions" on a user's edit page. The logic is in
auth/session_control.py; the list itself is part of the profile page (auth/pages.py)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_jwt_extended import unset_jwt_cookies

from portal.auth import session_control
from portal.auth.guard import current_user, requires
from portal.auth.models import User
from portal.errors import APIError
from portal.lookups import get_or_404
from portal.rbac import AUTHENTICATED

bp = Blueprint("session_pages", __name__)


@bp.post("/profile/sessions/<session_id>/end")
@requires(AUTHENTICATED, page=True)
def end_one(session_id: str):
    """Ending the session this page runs in is a sign-out."""
    try:
        session_control.end_one(current_user(), session_id)
    except APIError:
        flash("That session has already ended.", "info")
        return redirect(url_for("auth_pages.profile"))
    if session_id == g.get("session_id"):
        g.logged_out = True
        response = redirect(url_for("auth_pages.login"))
        unset_jwt_cookies(response)
        return response
    flash("That session is signed out.", "success")
    return redirect(url_for("auth_pages.profile"))


@bp.post("/profile/sessions/end-others")
@requires(AUTHENTICATED, page=True)
def end_others():
    count = session_control.end_others(current_user(), g.get("session_id"))
    flash(f"{count} other session{'' if count == 1 else 's'} signed out.", "success")
    return redirect(url_for("auth_pages.profile"))


@bp.post("/admin/users/<int:user_id>/sessions/end")
@requires("users.manage", page=True)
def admin_end_all(user_id: int):
    user = get_or_404(User, user_id, "user")
    count = session_control.end_all_by_admin(current_user(), user)
    flash(f"{count} session{'' if count == 1 else 's'} of {user.username} ended; they sign in "
          "again.", "success")
    return redirect(url_for("admin_pages.user_edit", user_id=user.id))
