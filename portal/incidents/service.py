"""Turning Alertmanager's alerts into incidents, idempotently.

An incident is keyed by the alert's fingerprint and start, so a redelivered message finds
the row it made before. A resolution that arrives first (or alone) still records the
incident, opened and closed at once. Times come from the exporter's state changes when
there are any: the first failed probe opens the downtime, the first good one closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from portal.extensions import db
from portal.incidents.maintenance import active_windows, in_maintenance
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.servers.models import Server, ServerEvent

# Prometheus, Alertmanager and the exporter keep separate clocks on separate processes.
CLOCK_SKEW = timedelta(seconds=5)


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    fingerprint: str = Field(min_length=1, max_length=64)


class WebhookIn(BaseModel):
    """Alertmanager's webhook payload, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    alerts: list[AlertIn] = Field(max_length=1000)


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
        view = {**server.label_map, "environment": server.environment or "",
                "group": server.group_name or "", "kind": server.kind}
        incident.in_maintenance = in_maintenance(active_windows(started_at), server.id, view)
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
