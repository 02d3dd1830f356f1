"""The Maintenance page's recurring schedules: the form that makes one (validated like the
API: ``ScheduleIn``, then ``create_schedule``) and cancelling one. The list itself is drawn
by ``maintenance.render_maintenance``.

The form's fields are prefixed ``s_`` where the window form on the same page has a field of
the same name, so the page's element ids stay unique.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from pydantic import ValidationError

from portal.auth.guard import current_user, requires
from portal.errors import APIError, validation_error
from portal.incidents.models import MaintenanceSchedule
from portal.incidents.pages import bp
from portal.incidents.pages.maintenance import new_window_values, render_maintenance, zone
from portal.incidents.recurrence import WEEKDAYS
from portal.incidents.recurring import cancel_schedule, create_schedule
from portal.incidents.schemas import ScheduleIn
from portal.lookups import get_or_404
from portal.web.forms import form_errors

SCHEDULE_FIELDS = frozenset({"s_scope", "s_server_id", "s_label", "s_reason", "kind",
                             "weekdays", "start_time", "cron", "duration_min"})
ALIASES = {"server_id": "s_server_id", "label": "s_label", "reason": "s_reason"}


def read_schedule_form(form) -> tuple[dict, dict, dict[str, str]]:
    """(values to show again, ScheduleIn's dict, errors found before validation)."""
    values: dict = {name: form.get(name, "").strip() for name in SCHEDULE_FIELDS}
    values["weekdays"] = [day for day in form.getlist("weekdays") if day in WEEKDAYS]
    errors: dict[str, str] = {}
    values["kind"] = "cron" if values["kind"] == "cron" else "weekly"
    data: dict[str, object] = {"reason": values["s_reason"], "kind": values["kind"]}
    if values["s_scope"] == "label":
        data["label"] = values["s_label"] or None
        if not values["s_label"]:
            errors["s_label"] = "enter a label as key=value, e.g. environment=production"
    else:
        values["s_scope"] = "server"
        if values["s_server_id"].isdigit() and len(values["s_server_id"]) < 10:
            data["server_id"] = int(values["s_server_id"])
        else:
            errors["s_server_id"] = "choose a server"
    if values["kind"] == "weekly":
        data.update(weekdays=values["weekdays"], start_time=values["start_time"] or None)
    else:
        data["cron"] = values["cron"] or None
    minutes = values["duration_min"]
    if minutes.isdigit() and len(minutes) < 7:
        data["duration_min"] = int(minutes)
    else:
        errors["duration_min"] = "enter a whole number of minutes"
    return values, data, errors


def _field_errors(exc: APIError) -> dict[str, str]:
    errors = form_errors(exc, SCHEDULE_FIELDS, ALIASES)
    return {("weekdays" if name.startswith("weekdays") else name): message
            for name, message in errors.items()}


@bp.post("/maintenance/schedules")
@requires("servers.manage", page=True)
def schedule_create():
    values, data, errors = read_schedule_form(request.form)
    try:
        spec = ScheduleIn.model_validate(data)
    except ValidationError as exc:  # every problem at once; ours are the more specific
        errors = {**_field_errors(validation_error(exc)), **errors}
    if errors:
        return render_maintenance(new_window_values(zone()), {}, 400,
                                  schedule_values=values, schedule_errors=errors)
    try:
        schedule = create_schedule(spec, current_user())
    except APIError as exc:
        return render_maintenance(new_window_values(zone()), {}, 400, schedule_values=values,
                                  schedule_errors=_field_errors(exc))
    flash(f"Recurring maintenance #{schedule.id} saved; its coming occurrences are planned.",
          "success")
    return redirect(url_for("incident_pages.maintenance") + "#schedules-heading")


@bp.post("/maintenance/schedules/<int:schedule_id>/cancel")
@requires("servers.manage", page=True)
def schedule_cancel(schedule_id: int):
    schedule = get_or_404(MaintenanceSchedule, schedule_id, "maintenance schedule")
    cancel_schedule(schedule)
    flash(f"Recurring maintenance #{schedule.id} cancelled, with its occurrences not yet "
          f"begun.", "success")
    return redirect(url_for("incident_pages.maintenance") + "#schedules-heading")
