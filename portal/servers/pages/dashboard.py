"""The dashboard: enabled servers as tiles, problems first, a page at a time so large
fleets stay fast, or as the fleet view (a compact cell per server, the whole fleet on one
screen), with the counts per status and, when set up, a Grafana panel. Each tile and cell
carries its server's open warnings and, for a server with a resources endpoint, its worst
resource (one Prometheus query for the page)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from markupsafe import Markup

from portal.auth.guard import current_user, requires
from portal.charts import resources
from portal.extensions import db
from portal.grafana import OVERVIEW_UID, dashboard_url, panel_url
from portal.incidents.warnings import open_warnings
from portal.servers import page_cache
from portal.servers.listing import by_severity, dashboard_view, live_items
from portal.servers.pages import KIND_LABELS, bp, filters_from_args, fleet_context
from portal.servers.status import SEVERITY
from portal.web.context import current_settings
from portal.web.forms import page_url
from portal.web.security import framed

DASHBOARD_PAGE_SIZE = 48  # tiles per page; divides evenly into 2, 3, 4 and 6 columns
# The tiles are the costly part of the page (two thirds of its time); each process renders
# a given page of them at most this often. Registry and state changes still show at once
# (the cache follows the same generation token, which they bump), and a page's first
# WebSocket frame, a second after it loads, is a snapshot that brings every tile's latency
# and last check up to the second anyway.
TILES_TTL_S = 5.0
OVERVIEW_PANEL = 5  # "Status history" in dashboards/overview.json
VIEWS = ("tiles", "fleet")
# The filters the view toggle carries back to the dashboard (never the page number).
KEPT_FILTERS = ("environment", "group", "status")


def chosen_view() -> str | None:
    """The view asked for in the address, else the one the user chose last; None when
    neither says (the page then lets a phone take the fleet view, live/fleet.js)."""
    asked = request.args.get("view")
    if asked in VIEWS:
        return asked
    return current_user().dashboard_view


@bp.get("/")
@requires("status.view", page=True)
def index():
    return redirect(url_for("server_pages.dashboard"))


@bp.get("/dashboard")
@requires("status.view", page=True)
def dashboard():
    chosen = chosen_view()
    fleet = chosen == "fleet"
    fixed = {"enabled": True, "per_page": DASHBOARD_PAGE_SIZE, **({"page": 1} if fleet else {})}
    args, filter_error = filters_from_args(**fixed)
    key = args.model_dump_json()
    view = page_cache.cached(("dashboard", key, fleet), lambda: dashboard_view(args, fleet),
                             background=page_cache.in_background)

    def tiles() -> Markup:
        items = live_items(view["result"]["items"])
        ids = [item["id"] for item in items]
        template = "servers/_fleet.html" if fleet else "servers/_tiles.html"
        html = render_template(template, items=by_severity(items) if fleet else items,
                               kind_labels=KIND_LABELS, **fleet_context(), extras=True,
                               worst=resources.worst(ids), warnings=open_warnings(ids),
                               alerts_url=url_for("incident_pages.alerts"))
        return Markup(html)  # noqa: S704 - an autoescaped template's output

    base = current_settings().grafana_url
    grafana = None
    if base and view["total"]:
        params = {"from": "now-24h", "to": "now"}
        grafana = {"link": dashboard_url(base, OVERVIEW_UID, **params),
                   "panel": panel_url(base, OVERVIEW_UID, OVERVIEW_PANEL, **params, theme="light")}
    html = render_template(
        "servers/dashboard.html",
        args=args, result=view["result"], counts=view["counts"], total=view["total"],
        tiles=page_cache.cached(("tiles", key, fleet), tiles, TILES_TTL_S,
                                page_cache.in_background),
        view="fleet" if fleet else "tiles", view_chosen=chosen is not None,
        kept_filters={name: request.args[name] for name in KEPT_FILTERS
                      if request.args.get(name)},
        paused=view["paused"], filter_error=filter_error, environments=view["environments"],
        groups=view["groups"], statuses=SEVERITY, kind_labels=KIND_LABELS,
        filtered=bool(args.environment or args.group or args.status), page_url=page_url,
        grafana=grafana,
    )
    return framed(html, base)


@bp.post("/dashboard/view")
@requires("status.view", page=True)
def dashboard_view_choice():
    """Remember the user's view (on every device they sign in on); a display preference,
    so not audited. The filters they had come back with them."""
    view = request.form.get("view")
    if view not in VIEWS:
        abort(400, description="view: must be tiles or fleet")
    user = current_user()
    user.dashboard_view = view
    db.session.commit()
    kept = {name: request.form[name] for name in KEPT_FILTERS if request.form.get(name)}
    return redirect(url_for("server_pages.dashboard", **kept))
