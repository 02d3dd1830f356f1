"""Noticing maintenance windows begin: open incidents of the servers they cover are marked
"in maintenance since", and the servers' live status is republished.

A window begins on its own schedule, with no request to notice it, so the worker looks on
every pass (and a window planned or cancelled looks at once). Each step is an UPDATE
guarded by what it changes, so two workers doing it at once mark, unmark and announce once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident, MaintenanceWindow
from portal.incidents.serialize import serialize_incident
from portal.realtime.publish import publish
from portal.servers import page_cache
from portal.servers.labels import label_condition
from portal.servers.live import publish_status
from portal.servers.models import Server
from portal.servers.status import active_windows


def _covered(window: MaintenanceWindow):
    """SQL: the ids of the servers the window covers."""
    if window.server_id is not None:
        return select(Server.id).where(Server.id == window.server_id)
    return select(Server.id).where(label_condition(window.label_key, window.label_value))


def mark_maintenance(now: datetime | None = None) -> None:
    """Mark open incidents of servers under a window in force (the earliest such window
    names it), unmark those no window covers any more, and announce windows just begun."""
    now = now or utcnow()
    windows = sorted(active_windows(now), key=lambda window: (window.starts_at, window.id))
    in_force = [window.id for window in windows]
    lapsed = db.session.scalars(select(Incident.id).where(
        Incident.ended_at.is_(None), Incident.maintenance_since.is_not(None),
        or_(Incident.maintenance_window_id.is_(None),
            Incident.maintenance_window_id.not_in(in_force)))).all()
    changed = set(lapsed)
    if lapsed:
        db.session.execute(update(Incident).where(Incident.id.in_(lapsed)).values(
            maintenance_since=None, maintenance_window_id=None))
    begun: list[MaintenanceWindow] = []
    for window in windows:
        marked = db.session.scalars(update(Incident).where(
            Incident.ended_at.is_(None), Incident.maintenance_window_id.is_(None),
            Incident.server_id.in_(_covered(window)),
        ).values(maintenance_since=window.starts_at, maintenance_window_id=window.id)
            .returning(Incident.id)).all()
        changed.update(marked)
        if window.began_at is None and db.session.execute(
                update(MaintenanceWindow).where(MaintenanceWindow.id == window.id,
                                                MaintenanceWindow.began_at.is_(None))
                .values(began_at=now)).rowcount:
            begun.append(window)
    db.session.commit()
    _publish(changed, begun)


def _publish(changed: set[int], begun: list[MaintenanceWindow]) -> None:
    """After the commit; best effort, like every live event."""
    if changed:
        for incident in db.session.scalars(select(Incident).where(Incident.id.in_(changed))
                                           .order_by(Incident.id)):
            publish("incident", serialize_incident(incident))
    if begun:
        page_cache.bump()
        servers = set()
        for window in begun:
            servers.update(db.session.scalars(_covered(window)))
        for server_id in sorted(servers):
            publish_status(server_id)
