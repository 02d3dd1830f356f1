"""The Maintenance page: windows in force and coming, past ones, the form that plans one
(validated like the API: ``WindowIn``, then ``create_window``), and the recurring schedules
(their form is in ``maintenance_schedules.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import select

from portal.auth.guard import current_user, requires
from portal.dbtypes import utcnow
from portal.errors import APIError, validation_error
from portal.extensions import db
from portal.incidents.maintenance import cancel_window, create_window, window_state
from portal.incidents.models import MaintenanceSchedule, MaintenanceWindow
from portal.incidents.pages import bp
from portal.incidents.recurrence import WEEKDAYS
from portal.incidents.recurring import schedule_query, schedule_view
from portal.incidents.schemas import WindowIn
from portal.incidents.serialize import serialize_window
from portal.lookups import get_or_404
from portal.pagination import paginate
from portal.servers.models import Server
from portal.settings.service import load_settings
from portal.web.forms import form_errors, page_number

WINDOW_PAGE_SIZE = 25
SCHEDULE_LIMIT = 50
WINDOW_FIELDS = frozenset({"scope", "server_id", "label", "starts_at", "ends_at", "reason"})


def zone() -> ZoneInfo:
    return ZoneInfo(load_settings().timezone)


def _local_input(moment: datetime, zone: ZoneInfo) -> str:
    """The value a datetime-local input shows for a UTC moment."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def new_window_values(zone: ZoneInfo) -> dict[str, str]:
    start = utcnow().astimezone(zone).replace(second=0, microsecond=0)
    start += timedelta(minutes=5 - start.minute % 5)
    server = request.args.get("server_id", "")
    return {"scope": "server", "server_id": server if server.isdigit() else "", "label": "",
            "starts_at": _local_input(start, zone),
            "ends_at": _local_input(start + timedelta(hours=1), zone), "reason": ""}


def new_schedule_values() -> dict:
    """The schedule form's starting values (its fields: ``maintenance_schedules.py``)."""
    server = request.args.get("server_id", "")
    return {"s_scope": "server", "s_server_id": server if server.isdigit() else "",
            "s_label": "", "s_reason": "", "kind": "weekly", "weekdays": [],
            "start_time": "02:00", "cron": "", "duration_min": "120"}


def read_window_form(form, zone: ZoneInfo) -> tuple[dict[str, str], dict, dict[str, str]]:
    """The form as (values to show again, WindowIn's dict, errors found before validation).

    datetime-local inputs carry no offset; they mean wall-clock time in the configured zone.
    """
    values = {name: form.get(name, "").strip() for name in WINDOW_FIELDS}
    errors: dict[str, str] = {}
    data: dict[str, object] = {"reason": values["reason"]}
    if not values["reason"]:
        errors["reason"] = "say what the work is, e.g. database patching"
    if values["scope"] == "label":
        if not values["label"]:
            errors["label"] = "enter a label as key=value, e.g. environment=production"
        data["label"] = values["label"] or None
    else:
        values["scope"] = "server"
        if not values["server_id"]:
            errors["server_id"] = "choose a server"
        elif values["server_id"].isdigit() and len(values["server_id"]) < 10:
            data["server_id"] = int(values["server_id"])
        else:
            errors["server_id"] = "choose a server from the list"
    for name in ("starts_at", "ends_at"):
        try:
            moment = datetime.fromisoformat(values[name])
        except ValueError:
            errors[name] = "enter a date and time"
            continue
        data[name] = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    return values, data, errors


def schedule_rows() -> list[dict]:
    """Live schedules first, with their next occurrences; cancelled ones after, 20 at most."""
    rows = []
    for schedule in db.session.scalars(schedule_query().limit(SCHEDULE_LIMIT)):
        row = schedule_view(schedule)
        row["server"] = schedule.server.name if schedule.server else None
        row["when"] = describe_schedule(schedule)
        rows.append(row)
    return rows


def describe_schedule(schedule: MaintenanceSchedule) -> str:
    """"Mon, Thu at 02:00" for a weekly schedule; a cron one is shown as its expression."""
    if schedule.kind == "weekly":
        days = ", ".join(day.title() for day in (schedule.weekdays or "").split(","))
        return f"{days} at {schedule.start_time}"
    return schedule.cron or ""


def _window_rows(windows: list[MaintenanceWindow]) -> list[dict]:
    now = utcnow()
    return [{**serialize_window(window), "state": window_state(window, now),
             "server": window.server.name if window.server else None} for window in windows]


def render_maintenance(values: dict, errors: dict[str, str], status: int = 200, *,
                       schedule_values: dict | None = None,
                       schedule_errors: dict[str, str] | None = None):
    now = utcnow()
    current = (MaintenanceWindow.cancelled_at.is_(None)) & (MaintenanceWindow.ends_at > now)
    upcoming = db.session.scalars(select(MaintenanceWindow).where(current)
                                  .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)).all()
    past = paginate(select(MaintenanceWindow).where(~current)
                    .order_by(MaintenanceWindow.ends_at.desc(), MaintenanceWindow.id.desc()),
                    page_number(), WINDOW_PAGE_SIZE, lambda row: row)
    past["items"] = _window_rows(past["items"])
    servers = db.session.execute(select(Server.id, Server.name).order_by(Server.name)).all()

    def page_url(number: int) -> str:
        return url_for("incident_pages.maintenance", page=number)

    return render_template(
        "incidents/maintenance.html", current=_window_rows(list(upcoming)), past=past,
        values=values, errors=errors, servers=servers, zone=zone(), page_url=page_url,
        schedules=schedule_rows(), weekdays=WEEKDAYS,
        schedule_values=schedule_values or new_schedule_values(),
        schedule_errors=schedule_errors or {},
    ), status


@bp.get("/maintenance")
@requires("status.view", page=True)
def maintenance():
    return render_maintenance(new_window_values(zone()), {})


@bp.post("/maintenance")
@requires("servers.manage", page=True)
def maintenance_create():
    """Validate like the API (WindowIn, then create_window); errors re-render, nothing saved."""
    values, data, errors = read_window_form(request.form, zone())
    try:
        spec = WindowIn.model_validate(data)
    except ValidationError as exc:  # every problem at once; ours are the more specific
        errors = {**form_errors(validation_error(exc), WINDOW_FIELDS), **errors}
    if errors:
        return render_maintenance(values, errors, 400)
    try:
        window = create_window(spec, current_user())
    except APIError as exc:
        return render_maintenance(values, form_errors(exc, WINDOW_FIELDS), 400)
    what = window.server.name if window.server else f"{window.label_key}={window.label_value}"
    if window.silence_error:
        flash(f"Maintenance window for {what} saved, but Alertmanager has not silenced its "
              f"alerts yet ({window.silence_error}); the worker keeps retrying.", "warning")
    else:
        flash(f"Maintenance window for {what} saved; its alerts are silenced.", "success")
    return redirect(url_for("incident_pages.maintenance"))


@bp.post("/maintenance/<int:window_id>/cancel")
@requires("servers.manage", page=True)
def maintenance_cancel(window_id: int):
    window = get_or_404(MaintenanceWindow, window_id, "maintenance window")
    cancel_window(window)
    if window.silence_error:
        flash(f"Maintenance window #{window.id} cancelled, but its silence could not be "
              f"expired yet ({window.silence_error}); the worker keeps retrying.", "warning")
    else:
        flash(f"Maintenance window #{window.id} cancelled.", "success")
    return redirect(url_for("incident_pages.maintenance"))
