"""The servers' part of the live feed: what a browser is told about each server.

The snapshot (the first frame of every connection) and every ``status`` event carry the
same fields, with the effective status already decided, so a page shows what it is sent
and never works out precedence itself.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.realtime.publish import publish
from portal.servers.listing import as_rows, serialize_rows
from portal.servers.models import Server, ServerStatus

log = logging.getLogger(__name__)

LIVE_FIELDS = ("status", "reason", "latency_ms", "last_checked", "status_since", "beats")


def _entry(item: dict) -> dict:
    return {"server_id": item["id"], **{key: item[key] for key in LIVE_FIELDS}}


def _items(*conditions) -> list[dict]:
    query = as_rows(select(Server).outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
                    .where(*conditions).order_by(Server.id))
    return serialize_rows(db.session.execute(query).all(), uptime_span=False)


def snapshot_entries() -> list[dict]:
    """Every enabled server, for a connection's first frame."""
    return [_entry(item) for item in _items(Server.enabled.is_(True))]


def publish_status(server_id: int, change: dict | None = None) -> None:
    """Tell browsers a server's status now. ``change`` is the state change the log has
    just stored (``status``, ``previous``, ``at``), or None when only what outranks the
    probes moved (a maintenance window began or ended)."""
    publish_changes([(server_id, change)])


def publish_changes(changes: list[tuple[int, dict | None]]) -> None:
    """``publish_status`` for many servers, each change in its order, the servers read in
    one query. Best effort, like every live event: it runs after the changes are
    committed, so a failure here must not make the caller think they were lost (a browser
    that misses one is made whole by its next snapshot)."""
    if not changes:
        return
    try:
        items = {item["id"]: item
                 for item in _items(Server.id.in_({server_id for server_id, _ in changes}))}
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("live status of %d servers not published: %s", len(changes), exc)
        return
    for server_id, change in changes:
        if server_id in items:
            publish("status", {**_entry(items[server_id]), "change": change})
