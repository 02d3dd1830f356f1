"""Server registry logic shared by the API, the pages and service discovery."""

from __future__ import annotations

import json
import logging

import redis
from sqlalchemy import Select, and_, exists, false, func, not_, or_, select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User
from portal.charts.uptime import uptimes
from portal.errors import APIError
from portal.extensions import db
from portal.incidents.maintenance import active_windows, in_maintenance, server_label_view
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.pagination import paginate
from portal.redis_client import channel, get_redis
from portal.servers import page_cache
from portal.servers.latest import latest_results
from portal.servers.models import Server, ServerLabel, ServerStatus
from portal.servers.schemas import ServerQuery, ServerSpec

log = logging.getLogger(__name__)

# The exporter listens here and reloads its targets within a second of a change.
TARGETS_CHANNEL = "servermon:targets"

_COLUMN_FIELDS = [name for name in ServerSpec.model_fields if name not in ("labels", "group")]


def spec_of(server: Server) -> dict:
    """The server as the fields a client sends, for merging an edit into."""
    data = {name: getattr(server, name) for name in _COLUMN_FIELDS}
    data["group"] = server.group_name
    data["labels"] = server.label_map
    return data


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# Columns for listing without loading ORM objects: the hot path of the API and dashboard.
ROW_COLUMNS = (
    *(getattr(Server, name) for name in _COLUMN_FIELDS),
    Server.id, Server.group_name, Server.created_at, Server.updated_at,
    User.username.label("owner"),
    ServerStatus.status, ServerStatus.reason, ServerStatus.latency_ms,
    ServerStatus.last_checked, ServerStatus.changed_at,
)


def as_rows(query: Select) -> Select:
    """Turn a filtered ``select(Server)`` into the flat column query serialize_row reads."""
    return query.outerjoin(User, User.id == Server.owner_id).with_only_columns(*ROW_COLUMNS)


def labels_for(server_ids: list[int]) -> dict[int, dict[str, str]]:
    labels: dict[int, dict[str, str]] = {server_id: {} for server_id in server_ids}
    if server_ids:
        rows = db.session.execute(
            select(ServerLabel.server_id, ServerLabel.key, ServerLabel.value)
            .where(ServerLabel.server_id.in_(server_ids)).order_by(ServerLabel.key)
        )
        for server_id, key, value in rows:
            labels[server_id][key] = value
    return labels


def serialize_row(row, labels: dict[str, str]) -> dict:
    data = {name: getattr(row, name) for name in _COLUMN_FIELDS}
    data.update(
        id=row.id,
        group=row.group_name,
        labels=labels,
        owner=row.owner,
        status=row.status or "unknown",
        reason=row.reason,
        last_checked=_iso(row.last_checked),
        latency_ms=row.latency_ms,
        status_since=_iso(row.changed_at),
        uptime_24h=None,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )
    return data


def stored_items(rows: list) -> list[dict]:
    """What the database says, including any status that outranks the probes."""
    labels = labels_for([row.id for row in rows])
    items = [serialize_row(row, labels[row.id]) for row in rows]
    forced = forced_statuses(items)
    for item in items:
        item["_forced"] = forced.get(item["id"])
    return items


def live_items(items: list[dict]) -> list[dict]:
    """Fresh copies with the exporter's latest results and the 24 h uptime laid over."""
    ids = [item["id"] for item in items]
    latest = latest_results(ids)
    uptime = uptimes(ids)
    fresh = []
    for stored in items:
        item = dict(stored)
        forced = item.pop("_forced")
        overlay_latest(item, latest.get(item["id"]))
        item["uptime_24h"] = uptime.get(item["id"])
        if forced:
            item["status"] = forced
        fresh.append(item)
    return fresh


def serialize_rows(rows: list) -> list[dict]:
    return live_items(stored_items(rows))


def overlay_latest(item: dict, result: dict | None) -> None:
    """The exporter's newest result wins over the stored state change it may be ahead of."""
    if not result or not item["enabled"]:
        return
    if result.get("status") in ("up", "down"):
        item["status"] = result["status"]
    item["reason"] = result.get("reason")
    item["latency_ms"] = result.get("latency_ms")
    item["last_checked"] = result.get("checked_at")


def server_page(args: ServerQuery) -> dict:
    def stored_page() -> dict:
        page = paginate(as_rows(server_query(args)), args.page, args.per_page,
                        lambda row: row, rows=True)
        page["items"] = stored_items(page["items"])
        return page

    page = page_cache.cached(("servers", args.model_dump_json()), stored_page)
    return {**page, "items": live_items(page["items"])}


def serialize_server(server: Server) -> dict:
    row = db.session.execute(as_rows(select(Server).outerjoin(
        ServerStatus, ServerStatus.server_id == Server.id).where(Server.id == server.id))).one()
    return serialize_rows([row])[0]


def _apply(server: Server, spec: ServerSpec) -> None:
    for name in _COLUMN_FIELDS:
        setattr(server, name, getattr(spec, name))
    server.group_name = spec.group
    current = {label.key: label for label in server.labels}
    for key in set(current) - set(spec.labels):
        server.labels.remove(current[key])
    for key, value in spec.labels.items():
        if key in current:
            current[key].value = value
        else:
            server.labels.append(ServerLabel(key=key, value=value))


def _check_owner(spec: ServerSpec) -> None:
    if spec.owner_id is not None and db.session.get(User, spec.owner_id) is None:
        raise APIError(400, "invalid value for owner_id", {"owner_id": "no such user"})


def _check_name_free(name: str, exclude_id: int | None = None) -> None:
    query = select(Server.id).where(func.lower(Server.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Server.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise APIError(409, "a server with that name exists", {"name": "already exists"})


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise APIError(409, "a server with that name exists", {"name": "already exists"}) from exc


def create_server(spec: ServerSpec, owner: User | None) -> Server:
    _check_owner(spec)
    _check_name_free(spec.name)
    server = Server()
    _apply(server, spec)
    if server.owner_id is None and owner is not None:
        server.owner_id = owner.id
    server.state = ServerStatus(status="unknown")
    db.session.add(server)
    _commit()
    announce_change(server.id, "created")
    return server


def update_server(server: Server, spec: ServerSpec) -> Server:
    _check_owner(spec)
    _check_name_free(spec.name, exclude_id=server.id)
    _apply(server, spec)
    _commit()
    announce_change(server.id, "updated")
    return server


def delete_server(server: Server) -> None:
    server_id = server.id
    db.session.delete(server)
    db.session.commit()
    announce_change(server_id, "deleted")


def announce_change(server_id: int, action: str) -> None:
    """Best effort: the exporter also polls service discovery, so a lost notice only delays."""
    page_cache.bump()
    try:
        get_redis().publish(channel(TARGETS_CHANNEL), json.dumps({"server_id": server_id, "action": action}))
    except redis.RedisError as exc:
        log.warning("could not announce server %s %s: %s", server_id, action, exc)


def _label_condition(key: str, value: str):
    # coalesce: a server without the label must compare false, not NULL, so that
    # NOT(condition) holds for it too (see status_condition).
    if key == "environment":
        return func.coalesce(Server.environment, "") == value
    if key == "group":
        return func.coalesce(Server.group_name, "") == value
    if key == "kind":
        return Server.kind == value
    return exists().where(
        and_(ServerLabel.server_id == Server.id, ServerLabel.key == key, ServerLabel.value == value)
    )


def server_query(args: ServerQuery) -> Select:
    query = select(Server).outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
    if args.name:
        query = query.where(func.lower(Server.name).contains(args.name.lower(), autoescape=True))
    if args.kind:
        query = query.where(Server.kind == args.kind)
    if args.environment:
        query = query.where(Server.environment == args.environment)
    if args.group:
        query = query.where(Server.group_name == args.group)
    if args.enabled is not None:
        query = query.where(Server.enabled.is_(args.enabled))
    if args.status:
        query = query.where(status_condition(args.status))
    for key, value in args.label_pairs():
        query = query.where(_label_condition(key, value))
    order = {
        "name": [Server.name],
        "-name": [Server.name.desc()],
        "id": [Server.id],
        "-id": [Server.id.desc()],
        "status": [ServerStatus.status, Server.name],
    }[args.sort]
    return query.order_by(*order)


def _maintenance_condition(windows: list):
    conditions = [Server.id == window.server_id if window.server_id is not None
                  else _label_condition(window.label_key, window.label_value)
                  for window in windows]
    return or_(*conditions) if conditions else false()


def _open_outage_condition():
    return exists().where(Incident.server_id == Server.id, Incident.ended_at.is_(None),
                          Incident.alertname == DOWNTIME_ALERT)


def status_condition(status: str):
    """SQL for a server's effective status: maintenance, then an open outage, then probes."""
    maintenance = _maintenance_condition(active_windows())
    if status == "maintenance":
        return maintenance
    outage = _open_outage_condition()
    stored = ServerStatus.status
    if status == "down":
        return and_(not_(maintenance), or_(outage, stored == "down"))
    if status == "up":
        return and_(not_(maintenance), not_(outage), stored == "up")
    return and_(not_(maintenance), not_(outage), or_(stored.is_(None), stored == "unknown"))


def forced_statuses(items: list[dict]) -> dict[int, str]:
    """Maintenance and open outages outrank what the last probe said (see status_condition)."""
    ids = [item["id"] for item in items]
    if not ids:
        return {}
    windows = active_windows()
    outages = set(db.session.scalars(select(Incident.server_id).where(
        Incident.server_id.in_(ids), Incident.ended_at.is_(None),
        Incident.alertname == DOWNTIME_ALERT,
    )))
    forced = {}
    for item in items:
        if in_maintenance(windows, item["id"], server_label_view(item)):
            forced[item["id"]] = "maintenance"
        elif item["id"] in outages:
            forced[item["id"]] = "down"
    return forced
