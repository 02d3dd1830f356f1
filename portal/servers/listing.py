"""Servers as lists show them: the registry's rows, the exporter's newest results and the
24 h uptime laid over them, and the effective status (``servers.status``) of each.

Listing is the hot path (every dashboard, every API client), so rows are read as plain
columns, a page at a time, and what the database says is cached per process
(``page_cache``) while the exporter's results are laid over fresh on every request.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from portal.auth.models import User
from portal.charts.uptime import DAY_S, monitored_since, over, uptimes
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.pagination import paginate
from portal.servers import page_cache, status
from portal.servers.labels import label_condition, labels_for
from portal.servers.latest import latest_results
from portal.servers.models import Server, ServerStatus
from portal.servers.schemas import SPEC_COLUMNS, ServerQuery
from portal.servers.secrets import shown
from wire import SECRET_SETTINGS


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# Columns for listing without loading ORM objects.
ROW_COLUMNS = (
    *(getattr(Server, name) for name in SPEC_COLUMNS),
    Server.id, Server.group_name, Server.created_at, Server.updated_at,
    User.username.label("owner"),
    ServerStatus.status, ServerStatus.reason, ServerStatus.latency_ms,
    ServerStatus.last_checked, ServerStatus.changed_at,
)


def server_query(args: ServerQuery) -> Select:
    """The servers ``args`` selects, joined to their stored status, in its order."""
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
        query = query.where(status.condition(args.status))
    for key, value in args.label_pairs():
        query = query.where(label_condition(key, value))
    order = {
        "name": [Server.name],
        "-name": [Server.name.desc()],
        "id": [Server.id],
        "-id": [Server.id.desc()],
        "status": [ServerStatus.status, Server.name],
    }[args.sort]
    return query.order_by(*order)


def as_rows(query: Select) -> Select:
    """Turn a filtered ``select(Server)`` into the flat column query serialize_row reads."""
    return query.outerjoin(User, User.id == Server.owner_id).with_only_columns(*ROW_COLUMNS)


def serialize_row(row, labels: dict[str, str]) -> dict:
    data = {name: getattr(row, name) for name in SPEC_COLUMNS}
    for name in SECRET_SETTINGS:  # never a secret, nor its sealed text
        data[name] = shown(name, data[name], row.target)
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
        beats="",
        cert_expiry=None,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )
    return data


def stored_items(rows: list, *, uptime_span: bool = True) -> list[dict]:
    """What the database says, with what outranks the probes (``_overrides``) and when
    monitoring began (``_monitored_since``, so a young server's uptime says what it covers;
    a query callers that show no uptime, such as the live events, skip)."""
    ids = [row.id for row in rows]
    labels = labels_for(ids)
    items = [serialize_row(row, labels[row.id]) for row in rows]
    overrides = status.overrides_for(items)
    since = monitored_since(ids) if uptime_span else {}
    for item in items:
        item["_overrides"] = overrides[item["id"]]
        item["_monitored_since"] = since.get(item["id"])
    return items


def live_items(items: list[dict]) -> list[dict]:
    """Fresh copies of stored items with the exporter's latest results and the 24 h uptime
    laid over, and their effective status.

    ``latency_ms`` is None unless the probes say up: the time a failed probe took (to be
    refused, to time out) is not how fast the server answers. ``beats`` are the exporter's
    last outcomes, oldest first ("u"/"d", as many as it has seen since it started) and
    ``cert_expiry`` the certificate its probes last saw (unix seconds), all from the same
    read of the latest hash."""
    ids = [item["id"] for item in items]
    latest = latest_results(ids)
    uptime = uptimes(ids)
    now = utcnow()
    fresh = []
    for stored in items:
        item = dict(stored)
        overrides = item.pop("_overrides")
        since = item.pop("_monitored_since", None)
        result = latest.get(item["id"])
        probe = status.probe_status(item["status"], result, item["enabled"])
        if result and item["enabled"]:
            item.update(reason=result.get("reason"), latency_ms=result.get("latency_ms"),
                        last_checked=result.get("checked_at"),
                        beats=_beats(result.get("beats")),
                        cert_expiry=_number(result.get("cert_expiry")))
        if probe != "up":
            item["latency_ms"] = None
        item["status"] = status.effective(probe, overrides)
        item["uptime_24h"] = uptime.get(item["id"])
        item["uptime_over_s"] = (over(since, DAY_S, now)["over_s"]
                                 if item["uptime_24h"] is not None else None)
        fresh.append(item)
    return fresh


def _beats(value) -> str:
    return "".join(beat for beat in value if beat in "ud") if isinstance(value, str) else ""


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def serialize_rows(rows: list, *, uptime_span: bool = True) -> list[dict]:
    return live_items(stored_items(rows, uptime_span=uptime_span))


def server_page(args: ServerQuery) -> dict:
    """One page of servers, as ``GET /api/servers`` returns it."""
    def stored_page() -> dict:
        page = paginate(as_rows(server_query(args)), args.page, args.per_page,
                        lambda row: row, rows=True)
        page["items"] = stored_items(page["items"])
        return page

    page = page_cache.cached(("servers", args.model_dump_json()), stored_page)
    return {**page, "items": live_items(page["items"])}


def by_severity(items: list[dict]) -> list[dict]:
    """Problems first, then by name: the order SQL gave, again after the exporter's
    newer results moved some servers (the fleet view shows every one, so it can)."""
    rank = {name: position for position, name in enumerate(status.SEVERITY)}
    return sorted(items, key=lambda item: (rank.get(item["status"], len(rank)),
                                           item["name"].lower(), item["id"]))


def serialize_server(server: Server) -> dict:
    row = db.session.execute(as_rows(select(Server).outerjoin(
        ServerStatus, ServerStatus.server_id == Server.id).where(Server.id == server.id))).one()
    return serialize_rows([row])[0]


def status_counts(environment: str | None = None, group: str | None = None) -> dict[str, int]:
    """Enabled servers per effective status (those a dashboard filter keeps)."""
    rank = status.severity()
    query = (
        select(rank, func.count(Server.id))
        .select_from(Server)
        .outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
        .where(Server.enabled.is_(True))
        .group_by(rank)
    )
    if environment:
        query = query.where(Server.environment == environment)
    if group:
        query = query.where(Server.group_name == group)
    counts = dict.fromkeys(status.SEVERITY, 0)
    for position, count in db.session.execute(query):
        if position < len(status.SEVERITY):
            counts[status.SEVERITY[position]] = count
    return counts


def distinct_values(column) -> list[str]:
    """Every value a column holds, for a filter's choices."""
    return list(db.session.scalars(select(column).where(column.is_not(None)).distinct()
                                   .order_by(column)))


def dashboard_view(args: ServerQuery, whole: bool = False) -> dict:
    """The stored part of a dashboard page: its tiles, problems first, the counts per
    status, and the choices of its filters. ``whole``: every server the filters keep, on
    one page (the fleet view), rather than ``args``' page."""
    query = server_query(args).order_by(None).order_by(status.severity(), Server.name)
    if whole:
        rows = db.session.execute(as_rows(query)).all()
        result = {"items": rows, "page": 1, "pages": 1, "per_page": len(rows),
                  "total": len(rows)}
    else:
        result = paginate(as_rows(query), args.page, args.per_page, lambda row: row, rows=True)
    result["items"] = stored_items(result["items"])
    return {
        "result": result, "counts": status_counts(args.environment, args.group),
        "total": db.session.scalar(select(func.count(Server.id))),
        "paused": db.session.scalar(select(func.count(Server.id))
                                    .where(Server.enabled.is_(False))),
        "environments": distinct_values(Server.environment),
        "groups": distinct_values(Server.group_name),
    }
