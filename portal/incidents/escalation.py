"""Escalation: a critical incident nobody acknowledges pages the next tier.

``escalate_after_min`` (the setting, or the server's own; 0 never) after its first page, an
open, unacknowledged critical incident pages tier 2 (the roles the settings give it and the
server's tier-2 contacts); twice that long after, tier 3. Acknowledging, from the Alerts
page, the API or the link in a page, stops it. Outages not paged (maintenance, a down
parent, a page still held) do not escalate. The worker's periodic pass runs it every 15 s;
the outbox's keys make a pass that runs twice page once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.audit.service import record
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.incidents.service import incident_target
from portal.notify import plan_notifications
from portal.notify.models import Notification, UserNotification
from portal.servers.models import Server
from portal.settings.service import load_settings

TIERS = (2, 3)
STATES = tuple(f"tier{tier}" for tier in TIERS)


def escalate(now: datetime | None = None) -> list:
    """Plan the escalations now due (the caller commits and dispatches)."""
    now = now or utcnow()
    settings = load_settings()
    first_page = dict(db.session.execute(
        select(Notification.incident_id, func.min(Notification.created_at))
        .join(Incident, Incident.id == Notification.incident_id)
        .where(Incident.ended_at.is_(None), Incident.acknowledged_at.is_(None),
               Incident.severity == "critical", Incident.in_maintenance.is_(False),
               Incident.suppressed_by.is_(None),
               Notification.state.in_(("firing", "flapping")))
        .group_by(Notification.incident_id)).all())
    if not first_page:
        return []
    overrides = dict(db.session.execute(
        select(Incident.id, Server.escalate_after_min)
        .join(Server, Server.id == Incident.server_id)
        .where(Incident.id.in_(list(first_page)))).all())
    ids = list(first_page)
    done = {(row.incident_id, row.state) for model in (Notification, UserNotification)
            for row in db.session.execute(select(model.incident_id, model.state).distinct()
                                          .where(model.incident_id.in_(ids),
                                                 model.state.in_(STATES)))}
    planned: list = []
    escalated: list[tuple[Incident, int, int]] = []
    for incident_id, paged_at in first_page.items():
        after = overrides.get(incident_id)
        after = settings.escalate_after_min if after is None else after
        if after <= 0:
            continue
        for tier in TIERS:
            state = f"tier{tier}"
            if (incident_id, state) not in done and \
                    now >= paged_at + timedelta(minutes=after * (tier - 1)):
                incident = db.session.get(Incident, incident_id)
                rows = plan_notifications(incident, state)
                if rows:
                    escalated.append((incident, tier, len(rows)))
                planned += rows
    # Audited last: the audit head is the last lock a transaction takes.
    for incident, tier, pages in escalated:
        record("incident.escalated", incident_target(incident),
               detail={"tier": tier, "pages": pages})
    return planned
