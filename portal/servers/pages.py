"""Dashboard, server list and detail, and the add/edit/delete forms.

The forms build the same dict the JSON API takes and validate it with the API's own
``validate_spec``, so a page can accept nothing the API would refuse (and vice versa).
"""

from __future__ import annotations

import logging
import threading

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import case, func, select
from werkzeug.datastructures import MultiDict

from portal.auth.guard import current_user, requires
from portal.auth.models import User
from portal.charts.routes import RANGES
from portal.errors import APIError, field_errors
from portal.extensions import db
from portal.grafana import OVERVIEW_UID, SERVER_UID, dashboard_url, panel_url
from portal.incidents.pages import incident_rows
from portal.incidents.routes import IncidentQuery, incident_query
from portal.pagination import paginate
from portal.servers import page_cache
from portal.servers.models import STATUSES, Server, ServerEvent, ServerStatus
from portal.servers.probe_now import probe_once
from portal.servers.routes import (
    LogQuery,
    event_query,
    get_server_or_404,
    validate_spec,
    with_probe_defaults,
)
from portal.servers.schemas import ServerQuery, ServerSpec
from portal.servers.service import (
    as_rows,
    create_server,
    delete_server,
    live_items,
    serialize_server,
    server_page,
    server_query,
    spec_of,
    status_condition,
    stored_items,
    update_server,
)
from portal.web import can, content_security_policy, current_settings, form_errors
from wire import DNS_RECORD_TYPES, KINDS

bp = Blueprint("server_pages", __name__, template_folder="templates")
log = logging.getLogger(__name__)

DASHBOARD_PAGE_SIZE = 48  # tiles per page; divides evenly into 2, 3, 4 and 6 columns
# The tiles are the costly part of the page (two thirds of its time); each process renders
# a given page of them at most this often. Registry and state changes still show at once
# (the cache follows the same generation token, which they bump), and a page's first
# WebSocket frame, a second after it loads, is a snapshot that brings every tile's latency
# and last check up to the second anyway.
TILES_TTL_S = 5.0
STATUS_ORDER = ("down", "unknown", "maintenance", "up")  # problems first
RECENT_INCIDENTS = 10
RECENT_EVENTS = 20
SERVER_PANELS = ((5, "Latency"), (6, "Up / down"))  # panel ids in dashboards/server.json
OVERVIEW_PANEL = 5  # "Status history" in dashboards/overview.json

KIND_LABELS = {"http": "HTTP(S)", "tcp": "TCP port", "icmp": "Ping (ICMP)", "dns": "DNS lookup"}
TARGET_HELP = {
    "http": "A full URL, e.g. https://ebanking.bank.co.ug/health",
    "tcp": "host:port, e.g. db1.bank.local:5432 or [2001:db8::1]:443",
    "icmp": "A host name or IP address, e.g. core-sw1.bank.local or 10.20.0.1",
    "dns": "The name to look up, e.g. www.bank.co.ug (an IP address for PTR records)",
}

BOOL_FIELDS = ("enabled", "confirm_down", "http_keyword_regex", "http_follow_redirects",
               "tls_verify", "tcp_tls")
INT_FIELDS = ("interval_s", "timeout_s", "http_max_latency_ms", "owner_id")
OPTIONAL_FIELDS = ("environment", "group", "description", "http_keyword", "dns_expected",
                   "dns_resolver", "http_max_latency_ms", "owner_id")
TEXT_FIELDS = tuple(name for name in ServerSpec.model_fields
                    if name not in BOOL_FIELDS and name not in INT_FIELDS and name != "labels")
FORM_FIELDS = frozenset(ServerSpec.model_fields)


# --- lists and filters ------------------------------------------------------------------

def _query_from_args(**fixed: object) -> tuple[ServerQuery, str | None]:
    """Filters from the query string; blank inputs mean "any", a bad one is reported, not fatal."""
    data: dict[str, object] = {}
    for key in ServerQuery.model_fields:
        if key == "label":
            pairs = [part.strip() for raw in request.args.getlist("label")
                     for part in raw.split(",") if part.strip()]
            if pairs:
                data["label"] = pairs
        elif request.args.get(key, "").strip():
            data[key] = request.args[key].strip()
    data.update(fixed)
    try:
        return ServerQuery.model_validate(data), None
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {message}" for field, message in field_errors(exc).items())
        return ServerQuery.model_validate(fixed), f"Filters ignored: {problems}"


def _page_url(page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _distinct(column) -> list[str]:
    return list(db.session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column)))


def _severity():
    """Rank by effective status (maintenance windows and open outages included), problems first."""
    return case(*((status_condition(name), rank) for rank, name in enumerate(STATUS_ORDER)),
                else_=len(STATUS_ORDER))


def _status_counts(args: ServerQuery, severity) -> dict[str, int]:
    query = (
        select(severity, func.count(Server.id))
        .select_from(Server)
        .outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
        .where(Server.enabled.is_(True))
        .group_by(severity)
    )
    if args.environment:
        query = query.where(Server.environment == args.environment)
    if args.group:
        query = query.where(Server.group_name == args.group)
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for rank, count in db.session.execute(query):
        if rank < len(STATUS_ORDER):
            counts[STATUS_ORDER[rank]] = count
    return counts


@bp.get("/")
@requires("status.view", page=True)
def index():
    return redirect(url_for("server_pages.dashboard"))


@bp.get("/dashboard")
@requires("status.view", page=True)
def dashboard():
    """Enabled servers as tiles, problems first, a page at a time so large fleets stay fast."""
    args, filter_error = _query_from_args(enabled=True, per_page=DASHBOARD_PAGE_SIZE)

    def stored() -> dict:
        severity = _severity()
        query = server_query(args).order_by(None).order_by(severity, Server.name)
        result = paginate(as_rows(query), args.page, args.per_page, lambda row: row, rows=True)
        result["items"] = stored_items(result["items"])
        return {
            "result": result, "counts": _status_counts(args, severity),
            "total": db.session.scalar(select(func.count(Server.id))),
            "paused": db.session.scalar(select(func.count(Server.id))
                                        .where(Server.enabled.is_(False))),
            "environments": _distinct(Server.environment), "groups": _distinct(Server.group_name),
        }

    key = args.model_dump_json()
    view = page_cache.cached(("dashboard", key), stored, background=_in_background)

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
        tiles=page_cache.cached(("tiles", key), tiles, TILES_TTL_S, _in_background),
        paused=view["paused"], filter_error=filter_error, environments=view["environments"],
        groups=view["groups"], statuses=STATUS_ORDER, kind_labels=KIND_LABELS,
        filtered=bool(args.environment or args.group or args.status), page_url=_page_url,
        grafana=grafana,
    )
    return _framing(html, base)


def _in_background(job) -> None:
    """Run a page-cache refresh on a thread of its own, in a request context like this one
    (same path and script root, so its links are the same); its app context gives it a
    database session of its own, closed when the context ends."""
    app = current_app._get_current_object()
    path, overrides = request.full_path, {"SCRIPT_NAME": request.script_root}

    def run() -> None:
        with app.test_request_context(path, environ_overrides=overrides):
            try:
                job()
            except Exception:
                log.exception("dashboard refresh failed; the next request computes it")

    threading.Thread(target=run, name="servermon-page-refresh", daemon=True).start()


@bp.get("/servers")
@requires("status.view", page=True)
def servers():
    args, filter_error = _query_from_args()
    return render_template(
        "servers/list.html",
        args=args, result=server_page(args), filter_error=filter_error, kinds=KINDS,
        statuses=STATUSES, kind_labels=KIND_LABELS, environments=_distinct(Server.environment),
        groups=_distinct(Server.group_name), page_url=_page_url,
        filtered=any(request.args.get(key) for key in ServerQuery.model_fields
                     if key not in ("page", "per_page", "sort")),
    )


def _recent_incidents(server_id: int) -> list[dict]:
    """The newest incidents, as the Alerts page lists them (durations, deliveries)."""
    query = incident_query(IncidentQuery(server_id=server_id)).limit(RECENT_INCIDENTS)
    return incident_rows(list(db.session.scalars(query)), None)


def _recent_events(server_id: int) -> list[ServerEvent]:
    """The newest state changes, as the log API returns them."""
    return list(db.session.scalars(event_query(server_id, LogQuery()).limit(RECENT_EVENTS)))


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
        events=_recent_events(server.id) if can("logs.view") else None,
        grafana=_grafana_for(server, base),
    )
    return _framing(html, base)


def _framing(html: str, grafana_base: str | None):
    """A page that embeds Grafana lets its origin into frame-src; others keep the default."""
    response = make_response(html)
    if grafana_base:
        response.headers["Content-Security-Policy"] = content_security_policy(
            current_app.config["SERVERMON"].grafana_url, grafana_base)
    return response


# --- the add/edit form ----------------------------------------------------------------

def parse_labels(text: str) -> dict[str, str]:
    """One ``key=value`` per line; blank lines and ``#`` comments are skipped."""
    labels: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"line {number} ({line[:40]!r}) is not key=value")
        if key in labels:
            raise ValueError(f"line {number}: label {key!r} is given twice")
        labels[key] = value
    return labels


def labels_text(labels: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in labels.items())


def read_form(form: MultiDict) -> tuple[dict, dict, dict[str, str]]:
    """The form as (values to show again, the API's dict, errors found before validation).

    An unchecked checkbox is absent from the post, so it reads as false.
    """
    values: dict[str, object] = {name: form.get(name, "") for name in (*TEXT_FIELDS, *INT_FIELDS)}
    values.update({name: name in form for name in BOOL_FIELDS})
    values["labels"] = form.get("labels", "")
    data: dict[str, object] = {name: values[name] for name in (*TEXT_FIELDS, *BOOL_FIELDS)}
    errors: dict[str, str] = {}
    for name in INT_FIELDS:
        text = str(values[name]).strip()
        if not text:
            if name in OPTIONAL_FIELDS:
                data[name] = None  # blank interval/timeout: the settings' probe defaults apply
        elif text.isdigit() and len(text) < 10:
            data[name] = int(text)
        else:
            errors[name] = "must be a whole number of at most 9 digits"
    for name in OPTIONAL_FIELDS:
        if data.get(name) == "":
            data[name] = None
    try:
        data["labels"] = parse_labels(str(values["labels"]))
    except ValueError as exc:
        errors["labels"] = str(exc)
        data["labels"] = {}
    return values, data, errors


def _new_values() -> dict:
    values = {name: field.get_default(call_default_factory=True)
              for name, field in ServerSpec.model_fields.items() if not field.is_required()}
    values.update(with_probe_defaults({}), name="", kind="http", target="",
                  owner_id=current_user().id, labels="")
    return values


def _edit_values(server: Server) -> dict:
    values = spec_of(server)
    values["labels"] = labels_text(values["labels"])
    return values


def _render_form(server: Server | None, values: dict, errors: dict[str, str], status: int = 200,
                 **probe: object):
    users = db.session.execute(select(User.id, User.username).order_by(User.username)).all()
    return render_template(
        "servers/form.html", **probe,
        server=server, values=values, errors=errors, kinds=KINDS, kind_labels=KIND_LABELS,
        target_help=TARGET_HELP, record_types=DNS_RECORD_TYPES,
        owners=[("", "Nobody")] + [(user.id, user.username) for user in users],
        active_nav="server_pages.servers",
    ), status


def _save(server: Server | None):
    """Validate the posted form like the API would, then create or update; errors re-render."""
    values, data, errors = read_form(request.form)
    base = with_probe_defaults({}) if server is None else spec_of(server)
    try:
        spec = validate_spec({**base, **{k: v for k, v in data.items() if k not in errors}})
        if errors:
            return _render_form(server, values, errors, 400)
        if request.form.get("action") == "test":
            return _test_now(server, values, spec)
        saved = create_server(spec, current_user()) if server is None else update_server(server, spec)
    except APIError as exc:
        errors = {**form_errors(exc, FORM_FIELDS), **errors}
        return _render_form(server, values, errors, exc.status if exc.status < 500 else 400)
    flash(f"Server {saved.name} {'added' if server is None else 'saved'}.", "success")
    return redirect(url_for("server_pages.server_detail", server_id=saved.id))


def _test_now(server: Server | None, values: dict, spec):
    """Probe the form's settings once through the exporter, and show the form again."""
    try:
        return _render_form(server, values, {}, probe=probe_once(spec))
    except APIError as exc:
        return _render_form(server, values, {}, probe_error=exc.message)


@bp.route("/servers/new", methods=["GET", "POST"])
@requires("servers.manage", page=True)
def server_new():
    if request.method == "POST":
        return _save(None)
    return _render_form(None, _new_values(), {})


@bp.route("/servers/<int:server_id>/edit", methods=["GET", "POST"])
@requires("servers.manage", page=True)
def server_edit(server_id: int):
    server = get_server_or_404(server_id)
    if request.method == "POST":
        return _save(server)
    return _render_form(server, _edit_values(server), {})


@bp.route("/servers/<int:server_id>/delete", methods=["GET", "POST"])
@requires("servers.manage", page=True)
def server_delete(server_id: int):
    """GET asks for confirmation; only the POST from that page deletes."""
    server = get_server_or_404(server_id)
    if request.method == "GET":
        return render_template("servers/delete.html", server=server, active_nav="server_pages.servers")
    name = server.name
    delete_server(server)
    flash(f"Server {name} deleted.", "success")
    return redirect(url_for("server_pages.servers"))
