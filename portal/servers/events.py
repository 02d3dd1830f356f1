"""The log of state changes: every time a server went down or came back up, as the
exporter saw it. The log API, the Logs page, its CSV and the server page read it here."""

from __future__ import annotations

from sqlalchemy import Select, select

from portal.schemas import aware
from portal.servers.models import ServerEvent
from portal.servers.schemas import LogQuery


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


def event_query(server_id: int | None, args: LogQuery) -> Select:
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


def oldest_first(query: Select) -> Select:
    """The same changes in the order a ticket or an audit reads them."""
    return query.order_by(None).order_by(ServerEvent.at, ServerEvent.id)
