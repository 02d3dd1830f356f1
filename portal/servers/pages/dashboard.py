"""The dashboard: enabled servers as tiles, problems first, a page at a time so large
fleets stay fast, with the counts per status and, when set up, a Grafana panel."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from markupsafe import Markup

from portal.auth.guard import requires
from portal.grafana import OVERVIEW_UID, dashboard_url, panel_url
from portal.servers import page_cache
from portal.servers.listing import dashboard_view, live_items
from portal.servers.pages import KIND_LABELS, bp, filters_from_args
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


@bp.get("/")
@requires("status.view", page=True)
def index():
    return redirect(url_for("server_pages.dashboard"))


@bp.get("/dashboard")
@requires("status.view", page=True)
def dashboard():
    args, filter_error = filters_from_args(enabled=True, per_page=DASHBOARD_PAGE_SIZE)
    key = args.model_dump_json()
    view = page_cache.cached(("dashboard", key), lambda: dashboard_view(args),
                             background=page_cache.in_background)

    def tiles() -> Markup:
        html = render_template("servers/_tiles.html", items=live_items(view["result"]["items"]),
                               kind_labels=KIND_LABELS)
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
        tiles=page_cache.cached(("tiles", key), tiles, TILES_TTL_S, page_cache.in_background),
        paused=view["paused"], filter_error=filter_error, environments=view["environments"],
        groups=view["groups"], statuses=SEVERITY, kind_labels=KIND_LABELS,
        filtered=bool(args.environment or args.group or args.status), page_url=page_url,
        grafana=grafana,
    )
    return framed(html, base)
