"""A server's page: its status and open warnings, history charts, its resources (when it
has a resources endpoint), recent incidents and state changes, and the Grafana panels of
its dashboard when Grafana is set up. A heartbeat shows its schedule and deadline in place
of the probe's settings, its last runs, and to server managers its ping URL."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from portal.auth.guard import requires
from portal.charts import resources
from portal.charts.queries import RANGES
from portal.dbtypes import utcnow
from portal.errors import validation_error
from portal.extensions import db
from portal.grafana import SERVER_UID, dashboard_url, panel_url
from portal.heartbeats.runs import job_summary
from portal.heartbeats.service import KEEP_PINGS, last_pings
from portal.incidents.opening import opening_outages
from portal.incidents.schemas import IncidentQuery
from portal.incidents.service import incident_query, incident_rows
from portal.incidents.warnings import open_warnings
from portal.notify import contacts as contact_book
from portal.notify.contacts import serialize_contact, server_contacts
from portal.servers.dependencies import ancestors, dependants
from portal.servers.events import event_query
from portal.servers.listing import serialize_server
from portal.servers.models import Server, ServerEvent
from portal.servers.pages import KIND_LABELS, bp
from portal.servers.ping_keys import ping_url
from portal.servers.schemas import LogQuery
from portal.servers.service import get_server_or_404, rotate_ping_key
from portal.web.context import can, current_settings
from portal.web.formatting import display_zone
from portal.web.forms import not_added, optional_number
from portal.web.security import framed

RECENT_INCIDENTS = 10
RECENT_EVENTS = 20
RECENT_PINGS = 20
SERVER_PANELS = ((5, "Latency"), (6, "Up / down"))  # panel ids in dashboards/server.json


def _recent_incidents(server_id: int) -> list[dict]:
    """The newest incidents, as the Alerts page lists them (durations, deliveries)."""
    query = incident_query(IncidentQuery(server_id=server_id)).limit(RECENT_INCIDENTS)
    return incident_rows(list(db.session.scalars(query)), None)


def _recent_events(server_id: int) -> list[ServerEvent]:
    """The newest state changes, as the log API returns them."""
    return list(db.session.scalars(event_query(server_id, LogQuery()).limit(RECENT_EVENTS)))


def _heartbeat_context(server: Server) -> dict:
    """A heartbeat's part of the page; its ping URL only for those who manage servers (the
    URL is the job's credential), its pings (with their bodies) only with logs.view, as
    the state-change log."""
    if server.kind != "heartbeat":
        return {"heartbeat": None}
    return {
        "heartbeat": job_summary(server, display_zone()), "now": utcnow(),
        "ping_url": ping_url(server) if can("servers.manage") else None,
        "pings": last_pings(server.id, RECENT_PINGS) if can("logs.view") else None,
        "pings_kept": KEEP_PINGS,
    }


def _grafana_for(server: Server, base: str | None) -> dict | None:
    """Panels of the per-server dashboard to embed, and a link to the whole of it."""
    if not base:
        return None
    params = {"var-server_id": server.id, "from": "now-24h", "to": "now"}
    return {
        "link": dashboard_url(base, SERVER_UID, **params),
        "panels": [(title, panel_url(base, SERVER_UID, panel_id, **params, theme="light"))
                   for panel_id, title in SERVER_PANELS],
    }


@bp.get("/servers/<int:server_id>")
@requires("status.view", page=True)
def server_detail(server_id: int):
    server = get_server_or_404(server_id)
    base = current_settings().grafana_url
    html = render_template(
        "servers/detail.html", server=server, live=serialize_server(server),
        kind_labels=KIND_LABELS, active_nav="server_pages.servers", ranges=RANGES,
        incidents=_recent_incidents(server.id) if can("alerts.view") else None,
        incidents_shown=RECENT_INCIDENTS,
        opening=opening_outages(server.id) if can("alerts.view") else [],
        events=_recent_events(server.id) if can("logs.view") else None,
        grafana=_grafana_for(server, base),
        parents=ancestors(server), dependants=dependants(server.id),
        contacts=[serialize_contact(c) for c in server_contacts(server.id)]
        if can("logs.view") else None,
        warnings=open_warnings([server.id]).get(server.id, []),
        resources=resources.current(server.id) if server.resources_endpoint else None,
        **_heartbeat_context(server),
    )
    return framed(html, base)


@bp.post("/servers/<int:server_id>/ping-key")
@requires("servers.manage", page=True)
def rotate_ping_key_page(server_id: int):
    """The page's "New URL": the old URL is a 404 from the commit on (audited by the
    service). The new one is shown by the page it goes back to, never in the flash, which
    travels in the session cookie."""
    server = get_server_or_404(server_id)
    if server.kind != "heartbeat":
        abort(404)
    rotate_ping_key(server)
    flash("A new ping URL is made: the old one no longer works. Give the job the URL below.",
          "success")
    return redirect(url_for("server_pages.server_detail", server_id=server.id)
                    + "#ping-url-heading")


@bp.post("/servers/<int:server_id>/contacts")
@requires("servers.manage", page=True)
def add_contact(server_id: int):
    """The server page's contact form: the API's schema, its errors flashed."""
    server = get_server_or_404(server_id)
    form = request.form
    data = {**{name: form.get(name, "").strip() or None for name in ("name", "email", "phone")},
            **optional_number(form, "tier")}
    try:
        contact = contact_book.add_contact(server.id, contact_book.ContactIn.model_validate(data))
    except ValidationError as exc:
        flash(not_added("contact", validation_error(exc).details), "warning")
    else:
        flash(f"Contact {contact.name} added.", "success")
    return redirect(url_for("server_pages.server_detail", server_id=server.id) + "#contacts-heading")


@bp.post("/servers/<int:server_id>/contacts/<int:contact_id>/delete")
@requires("servers.manage", page=True)
def remove_contact(server_id: int, contact_id: int):
    contact_book.remove_contact(server_id, contact_id)
    flash("Contact removed.", "success")
    return redirect(url_for("server_pages.server_detail", server_id=server_id) + "#contacts-heading")
