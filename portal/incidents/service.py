"""Incidents: made from Alertmanager's alerts, listed, and acknowledged.

Alertmanager's messages say *that* a server is down; the exporter's state changes say
*when*. So an incident's start and end are the probe's down and up events wherever there
are some, and the alert only tells which outage is meant:

* there is at most one open incident per server and alert (a partial unique index holds
  it). A firing alert for a server whose incident is open continues that incident, unless
  the probes saw the server come back in between: then the old one closes at that
  up-event and the next opens at the next down-event. Alertmanager re-fires an outage with
  a new start after a restart that lost its data, and must not make it two;
* a redelivered message finds the row it made before (fingerprint and start);
* a resolution the portal has no firing for closes the matching open incident, or is
  recorded opened and closed at once when the portal missed the outage entirely;
* an outage the probes already recorded (an incident began at the same down-event) is not
  recorded twice, and a resolution with no length and no probe evidence records nothing.

Without any probe event for the outage (the ingest was behind or down) the alert's own
times are used; docs/design.md#incidents says why that is the lesser evil.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.audit.service import Target, record
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.grafana import SERVER_UID, dashboard_url, queue_annotation
from portal.incidents.dependants import page_opened, page_resolved
from portal.incidents.flapping import is_flapping, mark_flapping
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.incidents.schemas import AlertIn, IncidentQuery, WebhookIn
from portal.incidents.serialize import serialize_incident
from portal.lookups import get_or_404
from portal.notify import dispatch, plan_notifications
from portal.notify.deliveries import delivery_counts
from portal.notify.messages import human_duration
from portal.notify.models import Notification, UserNotification
from portal.realtime.publish import publish
from portal.schemas import MAX_ID, aware
from portal.servers import page_cache
from portal.servers.labels import server_label_view
from portal.servers.models import Server, ServerEvent, ServerStatus
from portal.servers.status import active_windows, in_maintenance
from portal.settings.service import SettingsData, load_settings

log = logging.getLogger(__name__)

# Prometheus, Alertmanager and the exporter keep separate clocks on separate processes.
CLOCK_SKEW = timedelta(seconds=5)
SERVER_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits: str.isdigit takes "²" too
GRAFANA_LEAD = timedelta(hours=1)  # context before the outage on the linked graphs


# --- alerts into incidents --------------------------------------------------------------

@dataclass
class Change:
    incident: Incident
    opened: bool = False
    resolved: bool = False
    flapping: bool = False  # it became a flapping period with this change


def _server_for(labels: dict[str, str]) -> Server | None:
    """The server a ``server_id`` label names; none for a value that cannot be an id (30
    digits, "²"), which the database could not even look up."""
    server_id = labels.get("server_id", "")
    if not SERVER_ID.fullmatch(server_id) or int(server_id) > MAX_ID:
        return None
    return db.session.get(Server, int(server_id))


def _events(server_id: int, status: str):
    return select(ServerEvent).where(ServerEvent.server_id == server_id,
                                     ServerEvent.status == status)


def _first_up_after(server_id: int, after: datetime, until: datetime) -> ServerEvent | None:
    return db.session.scalar(_events(server_id, "up").where(
        ServerEvent.at > after, ServerEvent.at <= until).order_by(ServerEvent.at).limit(1))


def down_event(server_id: int, starts_at: datetime) -> ServerEvent | None:
    """The probe's down-event an alert that became active at ``starts_at`` is about: the
    last one before it, provided the server had not come back by then (else the event
    belongs to an earlier outage and this one's has not been stored yet)."""
    event = db.session.scalar(_events(server_id, "down").where(
        ServerEvent.at <= starts_at + CLOCK_SKEW).order_by(ServerEvent.at.desc()).limit(1))
    if event is None or _first_up_after(server_id, event.at, starts_at - CLOCK_SKEW):
        return None
    return event


def outage_end(incident: Incident, until: datetime) -> datetime:
    """The first up-event after the incident began, else ``until`` (never before the start)."""
    if incident.server_id is not None and incident.is_downtime:
        event = _first_up_after(incident.server_id, incident.started_at, until + CLOCK_SKEW)
        if event is not None:
            return event.at
    return max(until, incident.started_at)


def _by_key(alert: AlertIn) -> Incident | None:
    return db.session.scalar(select(Incident).where(
        Incident.fingerprint == alert.fingerprint, Incident.alert_started_at == alert.startsAt))


def open_incident(server_id: int | None, alertname: str, fingerprint: str) -> Incident | None:
    """The open incident of this server and alert (of this fingerprint without a server)."""
    query = select(Incident).where(Incident.ended_at.is_(None), Incident.alertname == alertname)
    query = query.where(Incident.server_id == server_id) if server_id is not None else \
        query.where(Incident.server_id.is_(None), Incident.fingerprint == fingerprint)
    return db.session.scalar(query.order_by(Incident.started_at).limit(1))


def _new_incident(alert: AlertIn, server: Server | None, started_at: datetime,
                  reason: str | None) -> Incident:
    labels = dict(alert.labels)
    incident = Incident(
        fingerprint=alert.fingerprint,
        alert_started_at=alert.startsAt,
        alertname=labels.get("alertname", "unknown"),
        severity=labels.get("severity", "warning"),
        server_id=server.id if server else None,
        server_name=server.name if server else labels.get("server"),
        summary=alert.annotations.get("summary", "")[:500] or None,
        description=alert.annotations.get("description") or None,
        reason=reason,
        labels=labels,
        started_at=started_at,
    )
    if server is not None:
        incident.in_maintenance = in_maintenance(active_windows(started_at), server.id,
                                                 server_label_view(server))
    db.session.add(incident)
    return incident


def close(incident: Incident, until: datetime) -> Change:
    """End an open incident at its up-event (or ``until``); the caller plans its pages."""
    db.session.flush()
    incident.ended_at = outage_end(incident, until)
    return Change(incident=incident, resolved=True)


def probes_still_down(incident: Incident) -> bool:
    """Whether the probes say this outage's server is still down: an enabled server stored
    down with no up-event since the outage began. A ServerDown resolution then is missing
    data (a failed scrape marks every series stale, the exporter or Prometheus restarted),
    not a recovery."""
    if not incident.is_downtime or incident.server_id is None:
        return False
    server = db.session.get(Server, incident.server_id)
    state = db.session.get(ServerStatus, incident.server_id)
    if server is None or not server.enabled or state is None or state.status != "down":
        return False
    return _first_up_after(incident.server_id, incident.started_at, utcnow() + CLOCK_SKEW) is None


def _settle(change: Change, alert: AlertIn) -> list[Change]:
    """Close on a resolution, except a flapping period (it closes once the server has
    settled) and an outage the probes say goes on: both close from the reconciler, at the
    probe's up-event, however often Alertmanager resolves them meanwhile."""
    incident = change.incident
    if alert.status == "resolved" and incident.ended_at is None and \
            incident.flapping_since is None:
        if probes_still_down(incident):
            log.info("resolved %s for %s while its probes say down: kept open until they say up",
                     incident.alertname, incident.server_name)
            return [change]
        close(incident, alert.endsAt or alert.startsAt)
        change.resolved = True
    return [change]


def _flapping(change: Change) -> Change:
    change.flapping = mark_flapping(change.incident)
    return change


def apply_alert(alert: AlertIn, settings: SettingsData) -> list[Change]:
    """What this alert does to the incidents (not committed): usually one change, two when
    it closes a finished outage and opens the next, none when it adds nothing."""
    known = _by_key(alert)
    if known is not None:
        return _settle(Change(incident=known), alert)
    server = _server_for(alert.labels)
    alertname = alert.labels.get("alertname", "unknown")
    current = open_incident(server.id if server else None, alertname, alert.fingerprint)
    downtime = server is not None and alertname == DOWNTIME_ALERT
    evidence = down_event(server.id, alert.startsAt) if downtime else None
    # Judged as of the outage this alert is about (a late post must not change the verdict).
    flapping = downtime and is_flapping(
        server.id, settings, now=evidence.at + CLOCK_SKEW if evidence else alert.startsAt)
    changes: list[Change] = []
    if current is not None:
        if flapping or current.flapping_since is not None:  # one incident for the period
            return _settle(_flapping(Change(incident=current)) if flapping else
                           Change(incident=current), alert)
        came_back = evidence is not None and evidence.at > current.started_at and \
            _first_up_after(current.server_id, current.started_at, evidence.at)
        if not came_back:
            return _settle(Change(incident=current), alert)  # the same outage, re-fired
        changes.append(close(current, evidence.at))
    elif evidence is not None:
        recorded = db.session.scalar(select(Incident).where(
            Incident.server_id == server.id, Incident.alertname == alertname,
            Incident.started_at == evidence.at))
        if recorded is not None:
            return _settle(Change(incident=recorded), alert)
    started_at, reason = (evidence.at, evidence.reason) if evidence else (alert.startsAt, None)
    if alert.status == "resolved" and evidence is None and \
            (alert.endsAt is None or alert.endsAt <= started_at):
        log.info("resolved %s for %s has no length and no probe evidence: not recorded",
                 alertname, alert.labels.get("server"))
        return changes
    incident = _new_incident(alert, server, started_at, reason)
    opened = Change(incident=incident, opened=True)
    return changes + _settle(_flapping(opened) if flapping else opened, alert)


RETIME_WITHIN = timedelta(hours=1)


def retime(incident: Incident) -> bool:
    """Move an outage's start and end onto the probe events that arrived after it was
    recorded (the ingest was behind when Alertmanager's message came: Redis away, the worker
    down). True when a time moved. Flapping periods are timed by the reconciler instead."""
    if not incident.is_downtime or incident.server_id is None or incident.flapping_since:
        return False
    moved = False
    if incident.reason is None:  # started from the alert's time, not a down-event
        event = down_event(incident.server_id, incident.alert_started_at)
        if event is not None and event.at != incident.started_at and \
                event.at <= incident.started_at + CLOCK_SKEW:
            incident.started_at, incident.reason, moved = event.at, event.reason, True
    if incident.ended_at is not None:
        end = outage_end(incident, incident.ended_at)
        if end != incident.ended_at:
            incident.ended_at, moved = end, True
    return moved


def retime_recent() -> list[Incident]:
    """``retime`` every outage that began or ended within RETIME_WITHIN (not committed)."""
    since = utcnow() - RETIME_WITHIN
    recent = db.session.scalars(select(Incident).where(
        Incident.alertname == DOWNTIME_ALERT, Incident.server_id.is_not(None),
        Incident.flapping_since.is_(None),
        or_(Incident.started_at >= since, Incident.ended_at >= since))
        .order_by(Incident.id).limit(500))
    return [incident for incident in recent if retime(incident)]


def plan_pages(changes: list[Change]) -> list:
    """The notifications these changes cause: a page for an opened incident that is still
    open (one saying it flaps, for a flapping one), one when an open incident starts
    flapping, a resolution for a closed one (the outbox skips what was planned before).
    A dependant's outage may be held or not paged (portal/incidents/dependants.py)."""
    planned = []
    for change in changes:
        if change.flapping:
            planned += plan_notifications(change.incident, "flapping")
        elif change.opened and not change.resolved:
            planned += page_opened(change.incident)
        if change.resolved:
            planned += page_resolved(change.incident)
    return planned


def _apply(payload: WebhookIn) -> tuple[list[Change], list]:
    """Every alert's incident and the notifications it causes, in one transaction."""
    settings = load_settings()  # once per post: a storm's post carries hundreds of alerts
    changes = [change for alert in payload.alerts for change in apply_alert(alert, settings)]
    planned = plan_pages(changes)
    db.session.commit()
    return changes, planned


def receive_alerts(payload: WebhookIn) -> list[Change]:
    """Record a webhook's alerts, then page, push live and annotate what changed.

    A passing failure (the database, or a concurrent delivery of the same alerts) is a 503,
    which Alertmanager retries and the incident keys make safe to retry.
    """
    for attempt in (1, 2):
        try:
            changes, planned = _apply(payload)
            break
        except IntegrityError:
            db.session.rollback()  # a concurrent delivery of the same alert won; read its rows
            if attempt == 2:
                raise APIError(503, "concurrent update; retry") from None
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.exception("webhook not stored")
            raise APIError(503, "database unavailable; retry") from exc
    page_cache.bump()
    dispatch(planned)
    for change in changes:
        if change.opened or change.resolved or change.flapping:
            publish("incident", serialize_incident(change.incident))
            queue_annotation(change.incident.id)
    return changes


# --- reading and acknowledging -------------------------------------------------------------

def get_incident_or_404(incident_id: int) -> Incident:
    return get_or_404(Incident, incident_id, "incident")


def incident_query(args: IncidentQuery) -> Select:
    """Incidents overlapping [from, to), newest first."""
    query = select(Incident)
    if args.server_id is not None:
        query = query.where(Incident.server_id == args.server_id)
    if args.from_:
        start = aware(args.from_, "from")
        query = query.where(or_(Incident.ended_at.is_(None), Incident.ended_at > start))
    if args.to:
        query = query.where(Incident.started_at < aware(args.to, "to"))
    if args.state == "open":
        query = query.where(Incident.ended_at.is_(None))
    elif args.state == "resolved":
        query = query.where(Incident.ended_at.is_not(None))
    if args.alertname:
        query = query.where(Incident.alertname == args.alertname)
    if args.severity:
        query = query.where(Incident.severity == args.severity)
    if args.message is not None:
        query = query.where(Incident.id.in_(select(Notification.incident_id).where(
            Notification.sent_in == args.message)))
    if args.wave is not None:
        query = query.where(Incident.id.in_(select(UserNotification.incident_id).where(
            or_(UserNotification.id == args.wave, UserNotification.wave_of == args.wave))))
    return query.order_by(Incident.started_at.desc(), Incident.id.desc())


def grafana_link(incident: Incident, base: str | None) -> str | None:
    """The server's Grafana dashboard around the incident: an hour before it to its end."""
    if not base or incident.server_id is None:
        return None
    start_ms = int((incident.started_at - GRAFANA_LEAD).timestamp() * 1000)
    end_ms = int((incident.ended_at or utcnow()).timestamp() * 1000)
    return dashboard_url(base, SERVER_UID, **{"var-server_id": incident.server_id,
                                              "from": start_ms, "to": end_ms})


def recoveries(incidents: list[Incident]) -> dict[int, datetime]:
    """For open outages whose server answers again: when it came back (the first up-event
    after the start). Alertmanager's resolution, or the reconciler, closes them there.
    (A flapping period is not closing when its server answers: it is flapping.)"""
    candidates = [incident.id for incident in incidents
                  if incident.is_open and incident.is_downtime and incident.server_id
                  and incident.flapping_since is None]
    if not candidates:
        return {}
    back = db.session.execute(
        select(Incident.id, func.min(ServerEvent.at))
        .join(ServerStatus, ServerStatus.server_id == Incident.server_id)
        .join(ServerEvent, and_(ServerEvent.server_id == Incident.server_id,
                                ServerEvent.status == "up", ServerEvent.at > Incident.started_at))
        .where(Incident.id.in_(candidates), ServerStatus.status == "up")
        .group_by(Incident.id))  # one query, however many open outages a storm left
    return dict(back.all())


def incident_rows(incidents: list[Incident], grafana_url: str | None) -> list[dict]:
    """Incidents as pages list them: with a readable duration, a Grafana link, how their
    e-mails and SMS fared, and, for an open outage whose server is back, when it came back."""
    counts = delivery_counts([incident.id for incident in incidents])
    recovered = recoveries(incidents)
    rows = []
    for incident in incidents:
        row = serialize_incident(incident)
        back = recovered.get(incident.id)
        row.update(duration=human_duration(row["duration_s"]),
                   grafana=grafana_link(incident, grafana_url),
                   deliveries=counts[incident.id],
                   recovered_at=back.isoformat() if back else None)
        rows.append(row)
    return rows


def acknowledge(incident: Incident, note: str, user: User) -> Incident:
    """Someone is on it: recorded once, with who and a note, and pushed to every page."""
    if incident.acknowledged_at is not None:
        raise APIError(409, f"already acknowledged by {incident.acknowledged_by_name}",
                       {"id": "already acknowledged"})
    mark_acknowledged(incident, user.id, user.username, note)
    audit_acknowledged([incident], user.username)
    db.session.commit()
    publish("incident", serialize_incident(incident))
    return incident


def incident_target(incident: Incident) -> Target:
    return Target("incident", incident.id, f"{incident.alertname} {incident.server_name or ''}".strip())


def mark_acknowledged(incident: Incident, user_id: int | None, name: str, note: str) -> None:
    """The acknowledgement itself (the caller commits, publishes, and audits it with
    ``audit_acknowledged``); escalation stops."""
    incident.acknowledged_at = utcnow()
    incident.acknowledged_by_id = user_id
    incident.acknowledged_by_name = name[:64]
    incident.ack_note = note.strip()[:1000] or None


def audit_acknowledged(incidents: list[Incident], name: str) -> None:
    """One audit row per incident, after every incident row is updated: the audit head is
    the last lock a transaction takes, so two acknowledgements cannot deadlock over it.
    ``name`` names who acknowledged when nobody is signed in (a link)."""
    for incident in incidents:
        record("incident.acknowledged", incident_target(incident),
               detail={"note": incident.ack_note}, actor_name=name)


def acknowledge_many(ids: list[int], note: str, user: User) -> tuple[list[Incident], int]:
    """The Alerts page's bulk form: every unacknowledged one of ``ids``; returns those
    acknowledged and how many were not (gone, or acknowledged already)."""
    found = list(db.session.scalars(select(Incident).where(
        Incident.id.in_(ids), Incident.acknowledged_at.is_(None)))) if ids else []
    for incident in found:
        mark_acknowledged(incident, user.id, user.username, note)
    audit_acknowledged(found, user.username)
    db.session.commit()
    for incident in found:
        publish("incident", serialize_incident(incident))
    return found, len(set(ids)) - len(found)
