"""Incidents: made from Alertmanager's alerts, listed, and acknowledged.

An incident is keyed by the alert's fingerprint and start, so a redelivered message finds
the row it made before. A resolution that arrives first (or alone) still records the
incident, opened and closed at once. Times come from the exporter's state changes when
there are any: the first failed probe opens the downtime, the first good one closes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import APIError
from portal.extensions import db
from portal.grafana import SERVER_UID, dashboard_url, queue_annotation
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.incidents.schemas import AlertIn, IncidentQuery, WebhookIn
from portal.incidents.serialize import serialize_incident
from portal.lookups import get_or_404
from portal.notify import dispatch, plan_notifications
from portal.notify.deliveries import delivery_counts
from portal.notify.messages import human_duration
from portal.realtime.publish import publish
from portal.schemas import aware
from portal.servers import page_cache
from portal.servers.labels import server_label_view
from portal.servers.live import publish_status
from portal.servers.models import Server, ServerEvent
from portal.servers.status import active_windows, in_maintenance

log = logging.getLogger(__name__)

# Prometheus, Alertmanager and the exporter keep separate clocks on separate processes.
CLOCK_SKEW = timedelta(seconds=5)
GRAFANA_LEAD = timedelta(hours=1)  # context before the outage on the linked graphs


# --- alerts into incidents --------------------------------------------------------------

@dataclass
class Change:
    incident: Incident
    opened: bool = False
    resolved: bool = False


def _server_for(labels: dict[str, str]) -> Server | None:
    server_id = labels.get("server_id", "")
    return db.session.get(Server, int(server_id)) if server_id.isdigit() else None


def _last_event(server_id: int, before: datetime) -> ServerEvent | None:
    return db.session.scalar(
        select(ServerEvent).where(ServerEvent.server_id == server_id, ServerEvent.at <= before)
        .order_by(ServerEvent.at.desc()).limit(1)
    )


def _first_up_after(server_id: int, after: datetime, until: datetime) -> ServerEvent | None:
    return db.session.scalar(
        select(ServerEvent).where(
            ServerEvent.server_id == server_id, ServerEvent.status == "up",
            ServerEvent.at > after, ServerEvent.at <= until,
        ).order_by(ServerEvent.at).limit(1)
    )


def outage_start(alert: AlertIn, server: Server | None) -> tuple[datetime, str | None]:
    """When the outage began and why, from the probe that first saw it down."""
    if server is not None and alert.labels.get("alertname") == DOWNTIME_ALERT:
        event = _last_event(server.id, alert.startsAt + CLOCK_SKEW)
        if event is not None and event.status == "down":
            return event.at, event.reason
    return alert.startsAt, None


def outage_end(incident: Incident, alert: AlertIn) -> datetime:
    ends_at = alert.endsAt or alert.startsAt
    if incident.server_id is not None and incident.is_downtime:
        event = _first_up_after(incident.server_id, incident.started_at, ends_at + CLOCK_SKEW)
        if event is not None:
            return event.at
    return max(ends_at, incident.started_at)


def _new_incident(alert: AlertIn) -> Incident:
    server = _server_for(alert.labels)
    started_at, reason = outage_start(alert, server)
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


def apply_alert(alert: AlertIn) -> Change:
    """Open, close, or leave alone the incident this alert describes (not committed)."""
    incident = db.session.scalar(select(Incident).where(
        Incident.fingerprint == alert.fingerprint, Incident.alert_started_at == alert.startsAt,
    ))
    change = Change(incident=incident) if incident else Change(incident=_new_incident(alert),
                                                               opened=True)
    if alert.status == "resolved" and change.incident.ended_at is None:
        db.session.flush()
        change.incident.ended_at = outage_end(change.incident, alert)
        change.resolved = True
    return change


def _apply(payload: WebhookIn) -> tuple[list[Change], list]:
    """Every alert's incident and the notifications it causes, in one transaction."""
    changes = [apply_alert(alert) for alert in payload.alerts]
    planned = []
    for change in changes:
        if change.opened and not change.resolved:
            planned += plan_notifications(change.incident, "firing")
        if change.resolved:
            planned += plan_notifications(change.incident, "resolved")
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
        if change.opened or change.resolved:
            publish("incident", serialize_incident(change.incident))
            queue_annotation(change.incident.id)
            if change.incident.is_downtime and change.incident.server_id is not None:
                publish_status(change.incident.server_id)  # an open outage outranks probes
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
    return query.order_by(Incident.started_at.desc(), Incident.id.desc())


def grafana_link(incident: Incident, base: str | None) -> str | None:
    """The server's Grafana dashboard around the incident: an hour before it to its end."""
    if not base or incident.server_id is None:
        return None
    start_ms = int((incident.started_at - GRAFANA_LEAD).timestamp() * 1000)
    end_ms = int((incident.ended_at or utcnow()).timestamp() * 1000)
    return dashboard_url(base, SERVER_UID, **{"var-server_id": incident.server_id,
                                              "from": start_ms, "to": end_ms})


def incident_rows(incidents: list[Incident], grafana_url: str | None) -> list[dict]:
    """Incidents as pages list them: with a readable duration, a Grafana link, and how
    their e-mails and SMS fared."""
    counts = delivery_counts([incident.id for incident in incidents])
    rows = []
    for incident in incidents:
        row = serialize_incident(incident)
        row.update(duration=human_duration(row["duration_s"]),
                   grafana=grafana_link(incident, grafana_url),
                   deliveries=counts[incident.id])
        rows.append(row)
    return rows


def acknowledge(incident: Incident, note: str, user: User) -> Incident:
    """Someone is on it: recorded once, with who and a note, and pushed to every page."""
    if incident.acknowledged_at is not None:
        raise APIError(409, f"already acknowledged by {incident.acknowledged_by_name}",
                       {"id": "already acknowledged"})
    incident.acknowledged_at = utcnow()
    incident.acknowledged_by_id = user.id
    incident.acknowledged_by_name = user.username
    incident.ack_note = note.strip() or None
    db.session.commit()
    publish("incident", serialize_incident(incident))
    return incident
