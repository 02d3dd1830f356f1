"""The in-app notification centre (the bell): each user's own entries, read or not.

Every query here is limited to one user's rows, so no page or endpoint built on it can
show or mark another person's notifications.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.models import UserNotification


def serialize_user_notification(row: UserNotification) -> dict:
    return {"id": row.id, "user_id": row.user_id, "incident_id": row.incident_id,
            "state": row.state, "title": row.title, "body": row.body,
            "created_at": row.created_at.isoformat(),
            "read_at": row.read_at.isoformat() if row.read_at else None}


def inbox_query(user_id: int, *, unread_only: bool = False) -> Select:
    """The user's notifications, newest first."""
    query = select(UserNotification).where(UserNotification.user_id == user_id)
    if unread_only:
        query = query.where(UserNotification.read_at.is_(None))
    return query.order_by(UserNotification.created_at.desc(), UserNotification.id.desc())


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count(UserNotification.id)).where(
        UserNotification.user_id == user_id, UserNotification.read_at.is_(None)))


def own_notification(user_id: int, notification_id: int) -> UserNotification | None:
    """The notification, if it is this user's; None for anyone else's, as for none at all."""
    row = db.session.get(UserNotification, notification_id)
    return row if row is not None and row.user_id == user_id else None


def mark_read(user_id: int, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (only ``ids`` when given); how many."""
    query = update(UserNotification).where(UserNotification.user_id == user_id,
                                           UserNotification.read_at.is_(None))
    if ids is not None:
        query = query.where(UserNotification.id.in_(ids))
    marked = db.session.execute(query.values(read_at=utcnow())).rowcount
    db.session.commit()
    return marked
