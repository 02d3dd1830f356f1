"""The Admin page (who is on the site, component health, counts) and user management forms.

User changes go through portal.users.service, so the escalation rules (grant only roles
within your own, never your own role, keep one active admin) hold here as in the API.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ValidationError

from portal.admin.service import summary
from portal.auth.guard import current_user, requires
from portal.auth.models import User
from portal.auth.passwords import MIN_LENGTH
from portal.errors import APIError
from portal.extensions import db
from portal.notify.channels import last_outcomes, unconfigured
from portal.rbac import ROLES, can_grant
from portal.settings.service import load_settings, validation_error
from portal.users.schemas import UserCreate, UserUpdate
from portal.users.service import create_user, delete_user, update_user
from portal.web.forms import form_errors

bp = Blueprint("admin_pages", __name__, template_folder="templates")

FIELDS = frozenset({"username", "password", "role", "email", "phone", "is_active", "notify_email",
                    "notify_sms", "daily_digest"})
BOOL_FIELDS = ("is_active", "notify_email", "notify_sms", "daily_digest")
COMPONENTS = ("database", "redis", "prometheus", "alertmanager", "grafana", "exporter", "worker",
              "watchdog", "reconciler")


@bp.get("/admin")
@requires("admin.view", page=True)
def admin():
    data = summary()
    actor = current_user()
    manageable = {item["id"] for item in data["users"] if can_grant(actor.role, item["role"])}
    return render_template(
        "admin/admin.html", data=data, components=COMPONENTS, manageable=manageable,
        grafana_url=current_app.config["SERVERMON"].grafana_url,
        channel_warnings=list(unconfigured(load_settings()).values()), channels=last_outcomes(),
    )


def _get_user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise APIError(404, f"no user with id {user_id}", {"id": "not found"})
    return user


def _require_manageable(user: User) -> None:
    if not can_grant(current_user().role, user.role):
        raise APIError(403, "you cannot manage an account whose role outranks yours")


def _grantable_roles() -> list[str]:
    return [role for role in ROLES if can_grant(current_user().role, role)]


def _render_form(user: User | None, values: dict, errors: dict[str, str], status: int = 200):
    return render_template(
        "admin/user_form.html", user=user, values=values, errors=errors,
        roles=_grantable_roles(), is_self=user is not None and user.id == current_user().id,
        min_password=MIN_LENGTH, active_nav="admin_pages.admin",
    ), status


def _read_form(is_self: bool, is_new: bool) -> tuple[dict, dict]:
    """(values to show again, the fields for the schema). Unchecked boxes read as false."""
    form = request.form
    values: dict[str, object] = {name: form.get(name, "").strip() for name in ("username", "role", "email",
                                                                              "phone")}
    values.update({name: name in form for name in BOOL_FIELDS})
    data = {key: value for key, value in values.items() if key in ("role", "email", "phone", *BOOL_FIELDS)}
    if is_new:
        data["username"] = values["username"]
    if is_self:
        data.pop("role")  # one's own role and activation are not editable here
        data.pop("is_active")
    password = form.get("password", "")
    if password or is_new:
        data["password"] = password
    return values, data


def _validate(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires("users.manage", page=True)
def user_new():
    if request.method == "GET":
        values = {"role": "", "is_active": True, "notify_email": True, "notify_sms": False,
                  "daily_digest": False}
        return _render_form(None, values, {})
    values, data = _read_form(is_self=False, is_new=True)
    try:
        user = create_user(current_user(), _validate(UserCreate, data))
    except APIError as exc:
        errors = form_errors(exc, FIELDS)
        if not values["role"]:
            errors["role"] = "choose a role"
        return _render_form(None, values, errors, exc.status)
    flash(f"User {user.username} created.", "success")
    return redirect(url_for("admin_pages.admin"))


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires("users.manage", page=True)
def user_edit(user_id: int):
    user = _get_user_or_404(user_id)
    _require_manageable(user)
    if request.method == "GET":
        values = {name: getattr(user, name) for name in ("username", "role", "email", "phone", *BOOL_FIELDS)}
        return _render_form(user, values, {})
    values, data = _read_form(is_self=user.id == current_user().id, is_new=False)
    values["username"] = user.username
    if user.source == "directory":  # the form shows no role field: the directory's groups say
        data.pop("role", None)
    try:
        update_user(current_user(), user, _validate(UserUpdate, data))
    except APIError as exc:
        db.session.rollback()
        return _render_form(user, values, form_errors(exc, FIELDS), exc.status)
    flash(f"User {user.username} saved.", "success")
    return redirect(url_for("admin_pages.admin"))


@bp.route("/admin/users/<int:user_id>/delete", methods=["GET", "POST"])
@requires("users.manage", page=True)
def user_delete(user_id: int):
    """GET asks for confirmation; the POST from that page deletes."""
    user = _get_user_or_404(user_id)
    if request.method == "GET":
        _require_manageable(user)
        return render_template("admin/user_delete.html", user=user, active_nav="admin_pages.admin")
    username = user.username
    try:
        delete_user(current_user(), user)
    except APIError as exc:
        flash(f"{username} was not deleted: {exc.message}.", "error")
        return redirect(url_for("admin_pages.admin"))
    flash(f"User {username} deleted.", "success")
    return redirect(url_for("admin_pages.admin"))
