"""What a live client needs to be whole again after connecting or missing events."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.routes import unread_count
from portal.rbac import has_permission
from portal.servers.models import Server, ServerStatus
from portal.servers.service import as_rows, serialize_rows

LIVE_FIELDS = ("id", "status", "reason", "latency_ms", "last_checked", "status_since")


def server_statuses() -> list[dict]:
    query = as_rows(select(Server).outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
                    .where(Server.enabled.is_(True)).order_by(Server.id))
    items = serialize_rows(db.session.execute(query).all())
    return [{key: item[key] for key in LIVE_FIELDS} for item in items]


def snapshot(role: str, user_id: int) -> dict:
    data: dict = {"servers": server_statuses(), "unread": unread_count(user_id)}
    if has_permission(role, "alerts.view"):
        data["open_incidents"] = db.session.scalar(
            select(func.count(Incident.id)).where(Incident.ended_at.is_(None)))
    return data
