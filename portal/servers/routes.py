"""/api/servers: the server registry."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Blueprint, jsonify, request
from pydantic import Field, ValidationError
from sqlalchemy import select

from portal.auth.guard import current_user, requires
from portal.errors import APIError, validation_error
from portal.extensions import db
from portal.pagination import paginate
from portal.schemas import PageQuery, aware, parse_query
from portal.servers.models import Server, ServerEvent
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
    server = db.session.get(Server, server_id)
    if server is None:
        raise APIError(404, f"no server with id {server_id}", {"id": "not found"})
    return server


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "request body must be a JSON object", {"body": "expected an object"})
    return body


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
    server = create_server(validate_spec(with_probe_defaults(_body())), current_user())
    return jsonify(serialize_server(server)), 201


@bp.get("/<int:server_id>")
@requires("status.view")
def show(server_id: int):
    return jsonify(serialize_server(get_server_or_404(server_id)))


@bp.patch("/<int:server_id>")
@requires("servers.manage")
def update(server_id: int):
    server = get_server_or_404(server_id)
    changes = _body()
    unknown = sorted(set(changes) - set(ServerSpec.model_fields))
    if unknown:
        raise APIError(400, f"unknown field {unknown[0]}", {k: "unknown field" for k in unknown})
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


def event_query(server_id: int, args: LogQuery):
    query = select(ServerEvent).where(ServerEvent.server_id == server_id)
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
    get_server_or_404(server_id)
    args = parse_query(LogQuery)
    return jsonify(paginate(event_query(server_id, args), args.page, args.per_page,
                            serialize_event))
