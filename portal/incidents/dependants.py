"""Dependants: the outage of a server whose parent (portal/servers/dependencies.py) is down
is recorded, not paged; the parent's page names them.

When a switch fails, everything behind it fails with it. Its page says so ("20 servers
depend on it: ..."), and theirs are not sent: their incidents are exact in the history and
the reports, and the bell has them, marked with what they depended on (``suppressed_by``).

Which one Alertmanager tells first is chance: a dependant's probe may see the failure
before its parent's does. So a dependant whose parents are all up when its outage opens
holds its DOWN pages (``pages_held_until``): its parents' longest interval and
confirmations, plus the alerting pipeline's delay. The worker's periodic pass (every 15 s,
``release_held_pages``) then pages it, or, if a parent has been down during the outage,
marks it suppressed. An outage never paged is not paged when it ends either; one that ends
while still held, its parents up throughout, is its own and pages both at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.notify import plan_notifications
from portal.servers.dependencies import ancestors, dependants
from portal.servers.models import Server, ServerStatus

# Scrape (5 s), evaluation (5 s), group_wait (5 s) and the webhook, with a margin.
PIPELINE_DELAY_S = 20
NAMES_IN_PAGE = 3


def _down_ancestor(incident: Incident, parents: list[Server], now: datetime) -> Server | None:
    """The nearest parent down now (probes or an open outage), or with an outage that
    overlapped this one."""
    if not parents:
        return None
    ids = [parent.id for parent in parents]
    down = set(db.session.scalars(select(ServerStatus.server_id).where(
        ServerStatus.server_id.in_(ids), ServerStatus.status == "down")))
    end = incident.ended_at or now
    down |= set(db.session.scalars(select(Incident.server_id).where(
        Incident.server_id.in_(ids), Incident.alertname == DOWNTIME_ALERT,
        Incident.started_at <= end,
        or_(Incident.ended_at.is_(None), Incident.ended_at >= incident.started_at))))
    return next((parent for parent in parents if parent.id in down), None)


def _server(incident: Incident) -> Server | None:
    """Its server, also for an incident not flushed yet (its relationship not loaded)."""
    return db.session.get(Server, incident.server_id) if incident.server_id is not None else None


def _parent_down_during(incident: Incident, now: datetime) -> Server | None:
    """``_down_ancestor`` for an incident's own server (None without one)."""
    server = _server(incident)
    return _down_ancestor(incident, ancestors(server), now) if server is not None else None


def _hold_s(parents: list[Server]) -> float:
    return max(parent.interval_s + parent.down_after for parent in parents) + PIPELINE_DELAY_S


def _parent_notes(server: Server) -> tuple[str | None, str | None]:
    """What a parent's page adds: its dependants, and how many are unreachable now."""
    children = dependants(server.id)
    if not children:
        return None, None
    down = db.session.scalar(select(db.func.count()).select_from(ServerStatus).where(
        ServerStatus.server_id.in_([child.id for child in children]),
        ServerStatus.status == "down"))
    names = ", ".join(child.name for child in children[:NAMES_IN_PAGE])
    more = len(children) - NAMES_IN_PAGE
    listed = f"{names} and {more} more" if more > 0 else names
    count = f"{len(children)} server{'s' if len(children) != 1 else ''}"
    note = (f"{count} depend on it ({listed}); {down} of them unreachable now. Their outages "
            "are recorded, not paged, while it is down.")
    return note, f"+{len(children)} dependant{'s' if len(children) != 1 else ''}"


def page_opened(incident: Incident, now: datetime | None = None) -> list:
    """The pages of an outage that opened (the caller commits)."""
    now = now or utcnow()
    server = _server(incident) if incident.is_downtime else None
    if server is None:
        return plan_notifications(incident, "firing")
    parents = ancestors(server)
    parent = _down_ancestor(incident, parents, now)
    if parent is not None:
        incident.suppressed_by = parent.name
        return plan_notifications(incident, "firing", page=False)
    if parents:
        incident.pages_held_until = now + timedelta(seconds=_hold_s(parents))
        return plan_notifications(incident, "firing", page=False)
    note, sms_note = _parent_notes(server)
    return plan_notifications(incident, "firing", note=note, sms_note=sms_note)


def page_resolved(incident: Incident, now: datetime | None = None) -> list:
    """The pages of an outage that ended: none for one never paged for its parent; both
    DOWN and RESOLVED for one still held whose parents stayed up."""
    now = now or utcnow()
    if incident.pages_held_until is not None:
        incident.pages_held_until = None
        parent = _parent_down_during(incident, now)
        if parent is not None:
            incident.suppressed_by = parent.name
        else:
            return plan_notifications(incident, "firing") + plan_notifications(incident,
                                                                                "resolved")
    if incident.suppressed_by is not None:
        return plan_notifications(incident, "resolved", page=False)
    return plan_notifications(incident, "resolved")


def release_held_pages(now: datetime | None = None) -> list:
    """Page, or mark suppressed, the open outages whose hold has run out (the caller
    commits and dispatches)."""
    now = now or utcnow()
    planned: list = []
    held = db.session.scalars(select(Incident).where(
        Incident.pages_held_until.is_not(None), Incident.pages_held_until <= now,
        Incident.ended_at.is_(None))).all()
    for incident in held:
        # Guarded like the reconciler's closes: of two workers, one releases and pages.
        won = db.session.execute(update(Incident).where(
            Incident.id == incident.id, Incident.pages_held_until.is_not(None))
            .values(pages_held_until=None).execution_options(synchronize_session=False)).rowcount
        if not won:
            continue
        db.session.refresh(incident)
        parent = _parent_down_during(incident, now)
        if parent is not None:
            incident.suppressed_by = parent.name
        else:
            planned += plan_notifications(incident, "firing")
    return planned
