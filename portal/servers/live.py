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
    probes moved (a maintenance window began or ended).

    Best effort, like every live event: it runs after the change is committed, so a
    failure here must not make the caller think the change was lost (a browser that
    misses it is made whole by its next snapshot)."""
    try:
        items = _items(Server.id == server_id)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("live status of server %s not published: %s", server_id, exc)
        return
    if items:
        publish("status", {**_entry(items[0]), "change": change})
