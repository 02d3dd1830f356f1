"""/api/servers: the server registry."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field, ValidationError
from sqlalchemy import select

from portal.auth.guard import current_user, requires
from portal.errors import validation_error
from portal.lookups import get_or_404
from portal.pagination import paginate
from portal.schemas import PageQuery, aware, json_object, parse_query
from portal.servers.latest import latest_results
from portal.servers.models import Server, ServerEvent
from portal.servers.probe_now import probe_once
from portal.servers.schemas import ServerQuery, ServerSpec
from portal.servers.service import (
    create_server,
    delete_server,
    serialize_server,
    server_page,
    spec_of,
    update_server,
)
from portal.settings.service import load_settings

bp = Blueprint("servers_api", __name__, url_prefix="/api/servers")


def get_server_or_404(server_id: int) -> Server:
    return get_or_404(Server, server_id, "server")


def validate_spec(data: dict) -> ServerSpec:
    try:
        return ServerSpec.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def with_probe_defaults(data: dict) -> dict:
    settings = load_settings()
    return {"interval_s": settings.probe_interval_s, "timeout_s": settings.probe_timeout_s, **data}


@bp.get("")
@requires("status.view")
def list_servers():
    args = parse_query(ServerQuery, lists=("label",))
    return jsonify(server_page(args))


@bp.post("")
@requires("servers.manage")
def create():
    server = create_server(validate_spec(with_probe_defaults(json_object())), current_user())
    return jsonify(serialize_server(server)), 201


@bp.post("/test")
@requires("servers.manage")
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
    spec = validate_spec({**spec_of(server), **changes})
    return jsonify(serialize_server(update_server(server, spec)))


@bp.delete("/<int:server_id>")
@requires("servers.manage")
def delete(server_id: int):
    delete_server(get_server_or_404(server_id))
    return "", 204


class LogQuery(PageQuery):
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    status: Literal["up", "down"] | None = None


def serialize_event(event: ServerEvent) -> dict:
    return {
        "event_id": event.event_id,
        "status": event.status,
        "previous": event.previous,
        "reason": event.reason,
        "latency_ms": event.latency_ms,
        "at": event.at.isoformat(),
        "last_ok_at": event.last_ok_at.isoformat() if event.last_ok_at else None,
    }


def event_query(server_id: int | None, args: LogQuery):
    """State changes newest first: one server's, or (without ``server_id``) every server's."""
    query = select(ServerEvent)
    if server_id is not None:
        query = query.where(ServerEvent.server_id == server_id)
    if args.from_:
        query = query.where(ServerEvent.at >= aware(args.from_, "from"))
    if args.to:
        query = query.where(ServerEvent.at < aware(args.to, "to"))
    if args.status:
        query = query.where(ServerEvent.status == args.status)
    return query.order_by(ServerEvent.at.desc(), ServerEvent.id.desc())


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
