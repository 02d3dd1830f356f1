"""The Settings page: every run-time setting in one form, saved through the settings service."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from portal.auth.guard import current_user, requires
from portal.errors import APIError, validation_error
from portal.notify.channels import unconfigured
from portal.notify.endpoints import all_endpoints, serialize_endpoint
from portal.rbac import ROLES
from portal.settings.service import SettingsData, load_settings, timezone_choices, update_settings
from portal.web.forms import form_errors

bp = Blueprint("settings_pages", __name__, template_folder="templates")

FIELDS = frozenset(SettingsData.model_fields)
BOOL_FIELDS = ("notify_email", "notify_sms", "notify_on_resolve", "local_sign_in_admins_only")
INT_FIELDS = ("probe_interval_s", "probe_timeout_s", "flap_changes", "flap_window_min",
              "flap_settle_min", "gather_window_s", "digest_hour", "escalate_after_min",
              "audit_retention_days", "session_idle_minutes", "session_lifetime_hours")


def read_form(form) -> tuple[dict, dict[str, str]]:
    """The posted settings as ``update_settings`` takes them, and any number that is not one."""
    changes: dict[str, object] = {
        "timezone": form.get("timezone", "").strip(),
        "grafana_url": form.get("grafana_url", "").strip() or None,
        "notify_roles": form.getlist("notify_roles"),
        "escalate_tier2_roles": form.getlist("escalate_tier2_roles"),
        "escalate_tier3_roles": form.getlist("escalate_tier3_roles"),
        "mfa_required_roles": form.getlist("mfa_required_roles"),
    }
    changes.update({name: name in form for name in BOOL_FIELDS})
    errors: dict[str, str] = {}
    for name in INT_FIELDS:
        text = form.get(name, "").strip()
        if text.isdigit() and len(text) < 10:
            changes[name] = int(text)
        else:
            changes[name] = text
            errors[name] = "must be a whole number"
    return changes, errors


def _render(values: dict, errors: dict[str, str], status: int = 200):
    return render_template("settings/settings.html", values=values, errors=errors,
                           timezones=timezone_choices(), roles=ROLES,
                           refresh_token_hours=current_app.config["SERVERMON"].refresh_token_hours,
                           directory=current_app.config["SERVERMON"].ldap is not None,
                           channel_warnings=list(unconfigured(load_settings()).values()),
                           endpoints=[serialize_endpoint(row, with_key=True)
                                      for row in all_endpoints()]), status


@bp.route("/settings", methods=["GET", "POST"])
@requires("settings.manage", page=True)
def settings():
    if request.method == "GET":
        return _render(load_settings().model_dump(), {})
    changes, errors = read_form(request.form)
    if errors:
        # Nothing is saved; check the other fields too, so every problem shows at once.
        valid = {key: value for key, value in changes.items() if key not in errors}
        try:
            SettingsData.model_validate({**load_settings().model_dump(), **valid})
        except ValidationError as exc:
            errors = {**form_errors(validation_error(exc), FIELDS), **errors}
        return _render(changes, errors, 400)
    try:
        update_settings(changes, current_user())
    except APIError as exc:
        return _render(changes, form_errors(exc, FIELDS), exc.status)
    flash("Settings saved.", "success")
    return redirect(url_for("settings_pages.settings"))
