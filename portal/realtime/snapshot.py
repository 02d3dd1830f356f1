"""What a live client needs to be whole again after connecting or missing events."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.inbox import unread_count
from portal.rbac import has_permission
from portal.servers.live import snapshot_entries


def snapshot(role: str, user_id: int) -> dict:
    data: dict = {"servers": snapshot_entries(), "unread": unread_count(user_id)}
    if has_permission(role, "alerts.view"):
        data["open_incidents"] = db.session.scalar(
            select(func.count(Incident.id)).where(Incident.ended_at.is_(None)))
    return data
