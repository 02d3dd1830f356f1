"""/api/servers: the server registry and each server's log."""

from __future__ import annotations

from flask import Blueprint, jsonify

from portal.auth.guard import current_user, requires
from portal.errors import APIError
from portal.heartbeats.runs import serialize_ping
from portal.heartbeats.service import ping_query
from portal.pagination import paginate
from portal.schemas import PageQuery, json_object, parse_query, takes
from portal.servers.events import event_query, serialize_event
from portal.servers.latest import latest_results
from portal.servers.listing import serialize_server, server_page
from portal.servers.ping_keys import ping_url
from portal.servers.probe_now import probe_once
from portal.servers.schemas import LogQuery, ServerQuery, ServerSpec
from portal.servers.service import (
    create_server,
    delete_server,
    get_server_or_404,
    rotate_ping_key,
    spec_of,
    update_server,
    validate_spec,
    with_probe_defaults,
)

bp = Blueprint("servers_api", __name__, url_prefix="/api/servers")


@bp.get("")
@requires("status.view")
def list_servers():
    args = parse_query(ServerQuery, lists=("label",))
    return jsonify(server_page(args))


@bp.post("")
@requires("servers.manage")
@takes(body=ServerSpec)
def create():
    server = create_server(validate_spec(with_probe_defaults(json_object())), current_user())
    return jsonify(serialize_server(server)), 201


@bp.post("/test")
@requires("servers.manage")
@takes(body=ServerSpec)
def test_now():
    """Probe a server as specified, once, through the exporter, without saving it."""
    return jsonify(probe_once(validate_spec(with_probe_defaults(json_object()))))


@bp.get("/<int:server_id>")
@requires("status.view")
def show(server_id: int):
    return jsonify(serialize_server(get_server_or_404(server_id)))


@bp.patch("/<int:server_id>")
@requires("servers.manage")
def update(server_id: int):
    server = get_server_or_404(server_id)
    changes = json_object(known=ServerSpec.model_fields)
    current = spec_of(server)
    spec = validate_spec({**current, **changes}, current)
    return jsonify(serialize_server(update_server(server, spec)))


@bp.delete("/<int:server_id>")
@requires("servers.manage")
def delete(server_id: int):
    delete_server(get_server_or_404(server_id))
    return "", 204


@bp.get("/<int:server_id>/ping-key")
@requires("servers.manage")
def show_ping_url(server_id: int):
    """A heartbeat server's ping URL: whoever holds it can report the job's runs."""
    server = get_server_or_404(server_id)
    if server.kind != "heartbeat":
        raise APIError(404, "only a heartbeat server has a ping URL", {"id": "not a heartbeat"})
    return jsonify(ping_url=ping_url(server))


@bp.post("/<int:server_id>/ping-key")
@requires("servers.manage")
def rotate_ping_url(server_id: int):
    """A new ping URL; the old one answers 404 from now on."""
    server = get_server_or_404(server_id)
    rotate_ping_key(server)
    return jsonify(ping_url=ping_url(server))


@bp.get("/<int:server_id>/pings")
@requires("logs.view")
def pings(server_id: int):
    """A heartbeat job's pings, newest first (the last 100 are kept): each with its kind,
    exit code, run duration, source, user agent and body excerpt. 404 for a probed server."""
    server = get_server_or_404(server_id)
    if server.kind != "heartbeat":
        raise APIError(404, "only a heartbeat server has pings", {"id": "not a heartbeat"})
    args = parse_query(PageQuery)
    return jsonify(paginate(ping_query(server.id), args.page, args.per_page, serialize_ping))


@bp.get("/<int:server_id>/logs")
@requires("logs.view")
def logs(server_id: int):
    """State changes from the history, newest first, and the exporter's latest probe result
    (``latest``: null before the first probe or with Redis away). Every probe's figures
    over time are in Prometheus: the chart endpoints serve them."""
    get_server_or_404(server_id)
    args = parse_query(LogQuery)
    page = paginate(event_query(server_id, args), args.page, args.per_page, serialize_event)
    return jsonify(**page, latest=latest_results([server_id]).get(server_id))
