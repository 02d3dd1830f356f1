"""Flapping: a server going up and down is one thing, said once.

A server whose probes changed state ``flap_changes`` times or more within
``flap_window_min`` (run-time settings) is flapping. Its ServerDown incident then spans the
flapping period: it is not split at each up-event, a resolution from Alertmanager does not
close it, and it pages once when it starts flapping ("flapping") and once when it settles
("resolved"), which is when the server has been up and unchanged for ``flap_settle_min``.
The reconciler closes it there, at the last up-event. Every change is still in the log,
and reports count only the down parts of the period as downtime.

Flapping is decided from the stored state changes (``server_events``), the same evidence
the incident times come from, by the webhook as alerts arrive and by the reconciler every
pass (Alertmanager posts a group at most once a minute, a flapping server changes faster).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.servers.models import ServerEvent
from portal.settings.service import SettingsData, load_settings


def is_flapping(server_id: int, settings: SettingsData | None = None,
                now: datetime | None = None) -> bool:
    return server_id in flapping_among([server_id], settings, now)


def flapping_among(server_ids: list[int], settings: SettingsData | None = None,
                   now: datetime | None = None) -> set[int]:
    """Which of these servers flap: one query, however many (the reconciler asks for every
    open outage each pass)."""
    if not server_ids:
        return set()
    settings = settings or load_settings()
    since = (now or utcnow()) - timedelta(minutes=settings.flap_window_min)
    return set(db.session.scalars(
        select(ServerEvent.server_id)
        .where(ServerEvent.server_id.in_(server_ids), ServerEvent.at > since)
        .group_by(ServerEvent.server_id)
        .having(func.count(ServerEvent.id) >= settings.flap_changes)))


def has_settled(status: str | None, changed_at: datetime | None,
                settings: SettingsData | None = None, now: datetime | None = None) -> bool:
    """Up, and unchanged for the settle time."""
    settings = settings or load_settings()
    return status == "up" and changed_at is not None and \
        changed_at <= (now or utcnow()) - timedelta(minutes=settings.flap_settle_min)


def mark_flapping(incident: Incident) -> bool:
    """Mark the incident as a flapping period; True if it was not one already."""
    if incident.flapping_since is not None:
        return False
    incident.flapping_since = utcnow()
    return True


def down_segments(incident: Incident, until: datetime) -> list[tuple[datetime, datetime]]:
    """The down parts of a flapping incident, from the log: each down-event to the next
    up-event, within the incident."""
    end = incident.ended_at or until
    events = db.session.execute(
        select(ServerEvent.status, ServerEvent.at).where(
            ServerEvent.server_id == incident.server_id, ServerEvent.at >= incident.started_at,
            ServerEvent.at <= end).order_by(ServerEvent.at, ServerEvent.id)).all()
    segments: list[tuple[datetime, datetime]] = []
    down_from: datetime | None = incident.started_at
    for status, at in events:
        if status == "down" and down_from is None:
            down_from = at
        elif status == "up" and down_from is not None:
            if at > down_from:
                segments.append((down_from, at))
            down_from = None
    if down_from is not None and end > down_from:
        segments.append((down_from, end))
    return segments
