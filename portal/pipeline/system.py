"""Incidents the portal raises about the monitoring itself, paged to admins.

They live in the incidents table like any other (the Alerts page, the history and the
outbox treat them alike) but come from the portal, not Alertmanager: the point is to be
heard when Alertmanager is the part that broke. Their ``source`` label says so, and the
reconciler never closes them for being absent from Alertmanager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.incidents.service import open_incident
from portal.notify import plan_notifications

SOURCE = "portal"
SERVER = "servermon"


@dataclass
class Raised:
    """What a raise or clear changed, for the caller to dispatch after its commit."""

    incidents: list[Incident] = field(default_factory=list)
    planned: list = field(default_factory=list)


def fingerprint(alertname: str) -> str:
    return f"servermon-{alertname}"


def is_system(incident: Incident) -> bool:
    return (incident.labels or {}).get("source") == SOURCE


def raise_incident(alertname: str, summary: str, description: str, into: Raised) -> None:
    """Open the incident unless it is open already (then only its description moves on)."""
    current = open_incident(None, alertname, fingerprint(alertname))
    if current is not None:
        current.description = description
        return
    now = utcnow()
    incident = Incident(
        fingerprint=fingerprint(alertname), alert_started_at=now, alertname=alertname,
        severity="critical", server_id=None, server_name=SERVER, summary=summary[:500],
        description=description, started_at=now,
        labels={"alertname": alertname, "severity": "critical", "server_id": SERVER,
                "server": SERVER, "source": SOURCE, "audience": "admins"},
    )
    db.session.add(incident)
    into.incidents.append(incident)
    into.planned += plan_notifications(incident, "firing")


def clear_incident(alertname: str, into: Raised) -> None:
    current = open_incident(None, alertname, fingerprint(alertname))
    if current is not None:
        current.ended_at = utcnow()
        into.incidents.append(current)
        into.planned += plan_notifications(current, "resolved")
