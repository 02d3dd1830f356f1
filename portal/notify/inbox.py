"""The in-app notification centre (the bell): each user's own entries, read or not.

Every query here is limited to one user's rows, so no page or endpoint built on it can
show or mark another person's notifications.

A storm is one entry, not hundreds: an entry planned within the gathering window
(``gather_window_s``) after an unread one of the same state joins its wave (``wave_of``),
and the bell lists, counts and marks read a wave as that first entry, with how many it
holds. Each incident keeps its own row, so planning stays idempotent per incident.
"""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.models import UserNotification


def serialize_user_notification(row: UserNotification, count: int = 1) -> dict:
    """``count``: the entries of its wave, this one included."""
    return {"id": row.id, "user_id": row.user_id, "incident_id": row.incident_id,
            "state": row.state, "title": row.title, "body": row.body, "count": count,
            "created_at": row.created_at.isoformat(),
            "read_at": row.read_at.isoformat() if row.read_at else None}


def wave_sizes(ids: list[int]) -> dict[int, int]:
    """Entry id -> the entries of its wave (1 for one on its own)."""
    counted = dict(db.session.execute(select(UserNotification.wave_of, func.count())
                                      .where(UserNotification.wave_of.in_(ids))
                                      .group_by(UserNotification.wave_of)).all()) if ids else {}
    return {entry_id: 1 + counted.get(entry_id, 0) for entry_id in ids}


def wave_leaders(user_ids: list[int], state: str, since) -> dict[int, int]:
    """User id -> the unread entry of this state that a new one within the window joins."""
    if not user_ids:
        return {}
    rows = db.session.execute(select(UserNotification.user_id, func.max(UserNotification.id))
                              .where(UserNotification.user_id.in_(user_ids),
                                     UserNotification.state == state,
                                     UserNotification.wave_of.is_(None),
                                     UserNotification.read_at.is_(None),
                                     UserNotification.created_at >= since)
                              .group_by(UserNotification.user_id)).all()
    return dict(rows)


def inbox_query(user_id: int, *, unread_only: bool = False) -> Select:
    """The user's notifications, a wave as its first entry, newest first."""
    query = select(UserNotification).where(UserNotification.user_id == user_id,
                                           UserNotification.wave_of.is_(None))
    if unread_only:
        query = query.where(UserNotification.read_at.is_(None))
    return query.order_by(UserNotification.created_at.desc(), UserNotification.id.desc())


def unread_count(user_id: int) -> int:
    """Unread entries, a wave counting once."""
    return db.session.scalar(select(func.count(UserNotification.id)).where(
        UserNotification.user_id == user_id, UserNotification.read_at.is_(None),
        UserNotification.wave_of.is_(None)))


def own_notification(user_id: int, notification_id: int) -> UserNotification | None:
    """The notification, if it is this user's; None for anyone else's, as for none at all."""
    row = db.session.get(UserNotification, notification_id)
    return row if row is not None and row.user_id == user_id else None


def mark_read(user_id: int, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (only ``ids`` and their waves when given);
    how many entries, as the bell counts them."""
    query = update(UserNotification).where(UserNotification.user_id == user_id,
                                           UserNotification.read_at.is_(None))
    if ids is not None:  # a wave's first entry stands for the wave
        query = query.where(or_(UserNotification.id.in_(ids), UserNotification.wave_of.in_(ids)))
    leaders = db.session.scalar(select(func.count(UserNotification.id)).where(
        UserNotification.user_id == user_id, UserNotification.read_at.is_(None),
        UserNotification.wave_of.is_(None),
        *([UserNotification.id.in_(ids)] if ids is not None else [])))
    db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
    return leaders
