"""The Alerts page (incidents, acknowledgement, delivery failures) and the Maintenance page.

Both reuse the API's own functions (``incident_query``, ``acknowledge``, ``create_window``,
``cancel_window``), so a page can do nothing the API would refuse. Dates typed into the
pages are read in the configured time zone; the database keeps UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import func, select

from portal.auth.guard import requires
from portal.dbtypes import utcnow
from portal.errors import APIError, validation_error
from portal.extensions import db
from portal.grafana import SERVER_UID, dashboard_url
from portal.incidents.models import Incident, MaintenanceWindow
from portal.incidents.routes import (
    AckIn,
    IncidentQuery,
    WindowIn,
    acknowledge,
    cancel_window,
    create_window,
    get_incident_or_404,
    incident_query,
)
from portal.incidents.serialize import serialize_incident, serialize_window
from portal.lookups import get_or_404
from portal.notify.messages import human_duration
from portal.notify.models import Notification
from portal.pagination import paginate
from portal.servers.models import Server
from portal.settings.service import load_settings
from portal.web import chosen_server, day_range, form_errors, page_number

bp = Blueprint("incident_pages", __name__, template_folder="templates")

PAST_PAGE_SIZE = 25
OPEN_LIMIT = 200  # open incidents are listed whole; a storm beyond this is cut, and says so
FAILED_LIMIT = 20
WINDOW_PAGE_SIZE = 25
GRAFANA_LEAD = timedelta(hours=1)  # context before the outage on the linked graphs
FILTER_FIELDS = ("server", "state", "severity", "alertname", "from", "to")
FILTER_ALIASES = {"server_id": "server"}  # IncidentQuery's name -> the form's
SEVERITIES = ("critical", "warning")
WINDOW_FIELDS = frozenset({"scope", "server_id", "label", "starts_at", "ends_at", "reason"})


def _zone() -> ZoneInfo:
    return ZoneInfo(load_settings().timezone)


# --- the Alerts page -----------------------------------------------------------------

@dataclass
class AlertFilters:
    """The filter form as typed (``values``), and the API query it means (``query``)."""

    values: dict[str, str]
    query: IncidentQuery
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any(self.values.get(name) for name in FILTER_FIELDS)


def read_filters(args, zone: ZoneInfo) -> AlertFilters:
    """Filters from the query string; a bad one is reported next to its field and ignored."""
    values = {name: args.get(name, "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    data: dict[str, object] = {}
    server_id = chosen_server(values, errors)
    if server_id is not None:
        data["server_id"] = server_id
    for name in ("state", "severity", "alertname"):
        if values[name]:
            data[name] = values[name]
    start, end = day_range(values, zone, errors)
    if start:
        data["from"] = start
    if end:
        data["to"] = end
    try:
        query = IncidentQuery.model_validate(data)
    except ValidationError as exc:
        for name, message in validation_error(exc).details.items():
            errors[FILTER_ALIASES.get(name, name)] = message
        query = IncidentQuery.model_validate(
            {key: value for key, value in data.items() if FILTER_ALIASES.get(key, key) not in errors})
    return AlertFilters(values=values, query=query, errors=errors)


def grafana_link(incident: Incident, base: str | None) -> str | None:
    """The server's Grafana dashboard around the incident: an hour before it to its end."""
    if not base or incident.server_id is None:
        return None
    start_ms = int((incident.started_at - GRAFANA_LEAD).timestamp() * 1000)
    end_ms = int((incident.ended_at or utcnow()).timestamp() * 1000)
    return dashboard_url(base, SERVER_UID, **{"var-server_id": incident.server_id,
                                              "from": start_ms, "to": end_ms})


def delivery_counts(incident_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per incident, how many e-mails and SMS were sent, are still on their way, or failed."""
    counts = {incident_id: {"sent": 0, "pending": 0, "failed": 0} for incident_id in incident_ids}
    if incident_ids:
        rows = db.session.execute(
            select(Notification.incident_id, Notification.status, func.count(Notification.id))
            .where(Notification.incident_id.in_(incident_ids))
            .group_by(Notification.incident_id, Notification.status))
        for incident_id, status, count in rows:
            key = status if status in ("sent", "failed") else "pending"  # sending is pending
            counts[incident_id][key] += count
    return counts


def incident_rows(incidents: list[Incident], grafana_url: str | None) -> list[dict]:
    counts = delivery_counts([incident.id for incident in incidents])
    rows = []
    for incident in incidents:
        row = serialize_incident(incident)
        row.update(duration=human_duration(row["duration_s"]),
                   grafana=grafana_link(incident, grafana_url),
                   deliveries=counts[incident.id])
        rows.append(row)
    return rows


def failed_deliveries() -> tuple[list[Notification], int]:
    failed = Notification.status == "failed"
    rows = db.session.scalars(select(Notification).where(failed)
                              .order_by(Notification.id.desc()).limit(FAILED_LIMIT)).all()
    total = db.session.scalar(select(func.count(Notification.id)).where(failed))
    return list(rows), total


def _kept_args(**changes: object) -> dict[str, str]:
    """The page's own query arguments (filters, page, linked incident), some changed."""
    args = {key: value for key in (*FILTER_FIELDS, "page", "incident")
            if (value := request.args.get(key, "").strip())}
    args.update({key: str(value) for key, value in changes.items()})
    return args


def _alerts_url(**changes: object) -> str:
    return url_for("incident_pages.alerts", **_kept_args(**changes))


def _render_alerts(ack_error: dict | None = None, status: int = 200):
    settings = load_settings()
    zone = ZoneInfo(settings.timezone)
    filters = read_filters(request.args, zone)
    query = filters.query
    show_open = query.state in (None, "open")
    show_past = query.state in (None, "resolved")
    open_items: list[Incident] = []
    open_total = 0
    if show_open:
        open_query = incident_query(query.model_copy(update={"state": "open"}))
        open_items = list(db.session.scalars(open_query.limit(OPEN_LIMIT)))
        open_total = db.session.scalar(
            select(func.count()).select_from(open_query.order_by(None).subquery()))
    past = None
    if show_past:
        past_query = incident_query(query.model_copy(update={"state": "resolved"}))
        past = paginate(past_query, page_number(), PAST_PAGE_SIZE, lambda row: row)
        if past["page"] > past["pages"]:
            past = paginate(past_query, past["pages"], PAST_PAGE_SIZE, lambda row: row)
    shown = open_items + (past["items"] if past else [])

    highlight = None
    linked: Incident | None = None
    missing_link = False
    wanted = request.args.get("incident", "")
    if wanted.isdigit() and len(wanted) < 10:
        highlight = int(wanted)
        if highlight not in {incident.id for incident in shown}:
            linked = db.session.get(Incident, highlight)
            missing_link = linked is None

    rows = incident_rows(shown + ([linked] if linked else []), settings.grafana_url)
    linked_row = rows.pop() if linked else None
    failed, failed_total = failed_deliveries()
    ever = db.session.scalar(select(func.count(Incident.id))) if not shown else 1
    servers = db.session.execute(select(Server.id, Server.name).order_by(Server.name)).all()
    alertnames = db.session.scalars(select(Incident.alertname).distinct()
                                    .order_by(Incident.alertname)).all()
    if past:
        past = {**past, "items": rows[len(open_items):]}
    return render_template(
        "incidents/alerts.html",
        filters=filters, open_rows=rows[:len(open_items)], open_total=open_total,
        show_open=show_open, past=past, linked=linked_row,
        missing_link=missing_link, highlight=highlight, failed=failed, failed_total=failed_total,
        any_incidents=bool(ever), servers=servers, alertnames=alertnames,
        severity_choices=[(name, name.capitalize()) for name in SEVERITIES],
        zone=zone, ack_error=ack_error or {}, page_url=lambda n: _alerts_url(page=n),
        ack_url=lambda incident_id: url_for("incident_pages.acknowledge_incident",
                                            incident_id=incident_id, **_kept_args()),
    ), 400 if filters.errors else status


@bp.get("/alerts")
@requires("alerts.view", page=True)
def alerts():
    """Open incidents first, then past ones a page at a time; ``?incident=`` marks one."""
    return _render_alerts()


@bp.post("/alerts/<int:incident_id>/ack")
@requires("alerts.view", page=True)
def acknowledge_incident(incident_id: int):
    """The page's acknowledge form; the query string carries the filters to return to."""
    incident = get_incident_or_404(incident_id)
    note = request.form.get("note", "")
    try:
        acknowledge(incident, AckIn.model_validate({"note": note}).note)
    except ValidationError as exc:
        message = validation_error(exc).details.get("note", "is not valid")
        return _render_alerts({"id": incident_id, "note": note, "message": message}, 400)
    except APIError as exc:
        flash(f"Incident #{incident_id} was not acknowledged: {exc.message}.", "warning")
    else:
        flash(f"Incident #{incident_id} acknowledged.", "success")
    return redirect(_alerts_url(incident=incident_id) + f"#incident-{incident_id}")


# --- the Maintenance page ------------------------------------------------------------

def _local_input(moment: datetime, zone: ZoneInfo) -> str:
    """The value a datetime-local input shows for a UTC moment."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _new_window_values(zone: ZoneInfo) -> dict[str, str]:
    start = utcnow().astimezone(zone).replace(second=0, microsecond=0)
    start += timedelta(minutes=5 - start.minute % 5)
    server = request.args.get("server_id", "")
    return {"scope": "server", "server_id": server if server.isdigit() else "", "label": "",
            "starts_at": _local_input(start, zone),
            "ends_at": _local_input(start + timedelta(hours=1), zone), "reason": ""}


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


def _window_rows(windows: list[MaintenanceWindow]) -> list[dict]:
    now = utcnow()
    rows = []
    for window in windows:
        row = serialize_window(window)
        if window.cancelled_at is not None:
            state = "cancelled"
        elif window.ends_at <= now:
            state = "ended"
        else:
            state = "active" if window.starts_at <= now else "scheduled"
        row.update(state=state, server=window.server.name if window.server else None)
        rows.append(row)
    return rows


def _render_maintenance(values: dict, errors: dict[str, str], status: int = 200):
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
        values=values, errors=errors, servers=servers, zone=_zone(), page_url=page_url,
    ), status


@bp.get("/maintenance")
@requires("status.view", page=True)
def maintenance():
    return _render_maintenance(_new_window_values(_zone()), {})


@bp.post("/maintenance")
@requires("servers.manage", page=True)
def maintenance_create():
    """Validate like the API (WindowIn, then create_window); errors re-render, nothing saved."""
    values, data, errors = read_window_form(request.form, _zone())
    try:
        spec = WindowIn.model_validate(data)
    except ValidationError as exc:  # every problem at once; ours are the more specific
        errors = {**form_errors(validation_error(exc), WINDOW_FIELDS), **errors}
    if errors:
        return _render_maintenance(values, errors, 400)
    try:
        window = create_window(spec)
    except APIError as exc:
        return _render_maintenance(values, form_errors(exc, WINDOW_FIELDS), 400)
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
