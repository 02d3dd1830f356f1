"""The Alerts page: open incidents first, then past ones a page at a time, failed
deliveries, and acknowledgement; ``?incident=`` (the link in every message) marks one,
``?message=`` (the link in a storm digest) shows the incidents that message told of, and
``?wave=`` (a bell entry's) those the entry stands for."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import func, select

from portal.auth.guard import current_user, requires
from portal.errors import APIError, validation_error
from portal.extensions import db
from portal.incidents.models import Incident
from portal.incidents.opening import OUTAGE_ALERT, opening_outages
from portal.incidents.pages import bp
from portal.incidents.schemas import SEVERITIES, AckIn, IncidentQuery
from portal.incidents.service import (
    acknowledge,
    acknowledge_many,
    get_incident_or_404,
    incident_query,
    incident_rows,
)
from portal.notify.deliveries import CONTACTS_PERMISSION, failed_deliveries, visible
from portal.pagination import paginate
from portal.servers.models import Server
from portal.settings.service import load_settings
from portal.web.context import can
from portal.web.forms import chosen_server, day_range, filter_query, page_number

PAST_PAGE_SIZE = 25
OPEN_LIMIT = 200  # open incidents are listed whole; a storm beyond this is cut, and says so
FILTER_FIELDS = ("server", "state", "severity", "alertname", "from", "to", "message", "wave")
FILTER_ALIASES = {"server_id": "server"}  # IncidentQuery's name -> the form's


@dataclass
class AlertFilters:
    """The filter form as typed (``values``), and the API query it means (``query``)."""

    values: dict[str, str]
    query: IncidentQuery
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any(self.values.get(name) for name in FILTER_FIELDS)

    @property
    def shows_opening(self) -> bool:
        """Whether an outage without its incident yet belongs in this view: a ServerDown
        (critical) now, so not when the view asks for days, a message or another alert."""
        query = self.query
        return (query.state in (None, "open") and query.severity in (None, "critical")
                and query.alertname in (None, OUTAGE_ALERT) and not self.values["message"]
                and not self.values["wave"]
                and not self.values["from"] and not self.values["to"])


def read_filters(args, zone: ZoneInfo) -> AlertFilters:
    """Filters from the query string; a bad one is reported next to its field and ignored."""
    values = {name: args.get(name, "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    data: dict[str, object] = {}
    server_id = chosen_server(values, errors)
    if server_id is not None:
        data["server_id"] = server_id
    for name in ("state", "severity", "alertname", "message", "wave"):
        if values[name]:
            data[name] = values[name]
    start, end = day_range(values, zone, errors)
    if start:
        data["from"] = start
    if end:
        data["to"] = end
    query = filter_query(IncidentQuery, data, errors, FILTER_ALIASES)
    return AlertFilters(values=values, query=query, errors=errors)


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
    opening = opening_outages(query.server_id) if filters.shows_opening else []

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
    full = can(CONTACTS_PERMISSION)
    failed_shown = {row.id: visible(row, full) for row in failed}
    ever = db.session.scalar(select(func.count(Incident.id))) if not shown else 1
    servers = db.session.execute(select(Server.id, Server.name).order_by(Server.name)).all()
    alertnames = db.session.scalars(select(Incident.alertname).distinct()
                                    .order_by(Incident.alertname)).all()
    if past:
        past = {**past, "items": rows[len(open_items):]}
    return render_template(
        "incidents/alerts.html",
        filters=filters, open_rows=rows[:len(open_items)], open_total=open_total,
        show_open=show_open, past=past, linked=linked_row, opening=opening,
        missing_link=missing_link, highlight=highlight, failed=failed, failed_total=failed_total,
        failed_shown=failed_shown,
        any_incidents=bool(ever), servers=servers, alertnames=alertnames,
        severity_choices=[(name, name.capitalize()) for name in SEVERITIES],
        zone=zone, ack_error=ack_error or {}, page_url=lambda n: _alerts_url(page=n),
        ack_url=lambda incident_id: url_for("incident_pages.acknowledge_incident",
                                            incident_id=incident_id, **_kept_args()),
        bulk_ack_url=url_for("incident_pages.acknowledge_selected", **_kept_args()),
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
        acknowledge(incident, AckIn.model_validate({"note": note}).note, current_user())
    except ValidationError as exc:
        message = validation_error(exc).details.get("note", "is not valid")
        return _render_alerts({"id": incident_id, "note": note, "message": message}, 400)
    except APIError as exc:
        flash(f"Incident #{incident_id} was not acknowledged: {exc.message}.", "warning")
    else:
        flash(f"Incident #{incident_id} acknowledged.", "success")
    return redirect(_alerts_url(incident=incident_id) + f"#incident-{incident_id}")


@bp.post("/alerts/ack")
@requires("alerts.view", page=True)
def acknowledge_selected():
    """The bulk form: every incident ticked in the open list, with one note."""
    note = request.form.get("note", "")
    try:
        note = AckIn.model_validate({"note": note}).note
    except ValidationError as exc:
        message = validation_error(exc).details.get("note", "is not valid")
        flash(f"Nothing was acknowledged: the note {message}.", "warning")
        return redirect(_alerts_url())
    ids = [int(value) for value in request.form.getlist("ids")[:OPEN_LIMIT]
           if value.isdigit() and len(value) < 10]
    if not ids:
        flash("Tick the incidents to acknowledge first.", "warning")
        return redirect(_alerts_url())
    done, skipped = acknowledge_many(ids, note, current_user())
    flash(f"{len(done)} incident{'' if len(done) == 1 else 's'} acknowledged"
          + (f"; {skipped} had been acknowledged already or are gone." if skipped else "."),
          "success" if done else "warning")
    return redirect(_alerts_url())
