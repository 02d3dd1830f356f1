"""The reconciler: open incidents checked against the probes and Alertmanager.

The webhook is Alertmanager's word, and Alertmanager can forget (a restart that lost its
data drops the resolutions it owed) or never speak (a broken route, a wrong token). So
every pass compares:

* **open incidents with the probes and Alertmanager's active alerts.** An outage whose
  server has been up for the grace period and whose alert Alertmanager no longer has closes
  at the probe's up-event and pages its resolution, exactly as the webhook would have
  (one open incident per server and alert, and the outbox's keys, make the two idempotent
  with each other). Another alert Alertmanager no longer has closes when seen missing.
* **late probe events.** An outage recorded while the ingest was behind (Redis away, the
  worker down) got the alert's times; once the probe events are stored its start and end
  move onto them (portal/incidents/service.py ``retime``).
* **flapping.** An open outage whose server has started flapping becomes a flapping period
  (paged once); a flapping period closes at its last up-event once the server has settled
  (portal/incidents/flapping.py).
* **outages with no incident.** Servers the probes have had down past a threshold, outside
  maintenance, with no open incident: the alerting pipeline is broken somewhere between
  Prometheus and the portal, and admins get one page saying so (not one per server), closed
  when it heals.

While Alertmanager cannot be asked nothing is closed: its silence is not "nothing fires".
Two workers may run it at once: a close is an UPDATE guarded by ``ended_at IS NULL`` (the
loser closes nothing and pages nothing), and the raised incident is unique while open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.dependants import page_resolved
from portal.incidents.flapping import flapping_among, has_settled, mark_flapping
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.incidents.service import outage_end, retime_recent
from portal.notify import plan_notifications
from portal.pipeline.alertmanager import ActiveAlerts, AlertmanagerUnavailable, active_alerts
from portal.pipeline.heartbeats import beat
from portal.pipeline.system import Raised, clear_incident, is_system, raise_incident
from portal.servers.labels import server_label_view
from portal.servers.models import Server, ServerStatus
from portal.servers.status import active_windows, in_maintenance
from portal.settings.service import load_settings

log = logging.getLogger(__name__)

PIPELINE_BROKEN = "AlertingPipelineBroken"
BATCH = 500
NAMES_SHOWN = 5


@dataclass
class Pass:
    closed: list[Incident] = field(default_factory=list)
    flapping: list[Incident] = field(default_factory=list)
    retimed: list[Incident] = field(default_factory=list)
    unalerted: list[str] = field(default_factory=list)
    raised: Raised = field(default_factory=Raised)

    @property
    def planned(self) -> list:
        return self.raised.planned

    @property
    def changed(self) -> list[Incident]:
        return self.closed + self.flapping + self.retimed + self.raised.incidents


def _close(incident: Incident, until, into: Pass, *, exact: bool = False) -> None:
    end = until if exact else outage_end(incident, until)
    won = db.session.execute(update(Incident).where(
        Incident.id == incident.id, Incident.ended_at.is_(None)).values(ended_at=end)).rowcount
    if won:  # another worker, or the webhook, may have closed it meanwhile
        db.session.refresh(incident)
        into.closed.append(incident)
        into.raised.planned += page_resolved(incident)
        log.warning("reconciler closed incident %s (%s on %s) at %s: %s", incident.id,
                    incident.alertname, incident.server_name, end,
                    "it settled" if exact else "Alertmanager never resolved it")


def _open_with_probe(*conditions) -> list:
    return db.session.execute(
        select(Incident, ServerStatus.status, ServerStatus.changed_at)
        .outerjoin(ServerStatus, ServerStatus.server_id == Incident.server_id)
        .where(Incident.ended_at.is_(None), *conditions)
        .order_by(Incident.id).limit(BATCH)).all()


def watch_flapping(into: Pass) -> None:
    """Needs only the probes: runs whether or not Alertmanager answers."""
    settings = load_settings()
    rows = _open_with_probe(Incident.alertname == DOWNTIME_ALERT, Incident.server_id.is_not(None))
    flapping = flapping_among([incident.server_id for incident, _, _ in rows
                               if incident.flapping_since is None], settings)
    for incident, probe, changed_at in rows:
        if incident.flapping_since is not None:
            if has_settled(probe, changed_at, settings):
                _close(incident, changed_at, into, exact=True)
        elif incident.server_id in flapping and mark_flapping(incident):
            into.flapping.append(incident)
            into.raised.planned += plan_notifications(incident, "flapping")


def heal_open_incidents(active: ActiveAlerts, into: Pass) -> None:
    config = current_app.config["SERVERMON"]
    cutoff = utcnow() - timedelta(seconds=config.reconcile_grace_s)
    rows = _open_with_probe(Incident.created_at <= cutoff, Incident.flapping_since.is_(None))
    for incident, probe, changed_at in rows:
        if is_system(incident) or incident in into.flapping or \
                active.firing(incident.server_id, incident.alertname, incident.fingerprint):
            continue
        if incident.is_downtime and incident.server_id is not None:
            if probe == "up" and changed_at is not None and changed_at <= cutoff:
                _close(incident, changed_at, into)
        else:
            _close(incident, utcnow(), into)


def unalerted_outages() -> list[str]:
    """Servers the probes have had down past the threshold with no open outage incident."""
    config = current_app.config["SERVERMON"]
    cutoff = utcnow() - timedelta(seconds=config.unalerted_after_s)
    open_outage = select(Incident.id).where(Incident.server_id == Server.id,
                                            Incident.ended_at.is_(None),
                                            Incident.alertname == DOWNTIME_ALERT).exists()
    servers = db.session.scalars(
        select(Server).join(ServerStatus, ServerStatus.server_id == Server.id)
        .where(Server.enabled.is_(True), ServerStatus.status == "down",
               ServerStatus.changed_at <= cutoff, ~open_outage)
        .order_by(Server.name).limit(BATCH)).all()
    windows = active_windows()
    return [server.name for server in servers
            if not in_maintenance(windows, server.id, server_label_view(server))]


def _describe(names: list[str], minutes: int) -> tuple[str, str]:
    shown = ", ".join(names[:NAMES_SHOWN]) + (f" and {len(names) - NAMES_SHOWN} more"
                                              if len(names) > NAMES_SHOWN else "")
    summary = f"{len(names)} server(s) down for over {minutes} min with no incident: {shown}"
    description = (f"The probes have had {shown} down for over {minutes} minutes, but the "
                   "portal has no incident for them. Check Prometheus's rules and "
                   "Alertmanager's route to the portal (its webhook token), then the portal "
                   "logs.")
    return summary, description


def reconcile() -> Pass:
    """One pass (the caller commits, then dispatches ``planned``)."""
    result = Pass()
    result.retimed = retime_recent()
    watch_flapping(result)
    try:
        active = active_alerts()
    except AlertmanagerUnavailable as exc:
        beat("reconciler", f"Alertmanager unreachable, nothing closed: {exc}")
        return result
    heal_open_incidents(active, result)
    result.unalerted = unalerted_outages()
    if result.unalerted:
        minutes = current_app.config["SERVERMON"].unalerted_after_s // 60 or 1
        summary, description = _describe(result.unalerted, minutes)
        raise_incident(PIPELINE_BROKEN, summary, description, result.raised)
    else:
        clear_incident(PIPELINE_BROKEN, result.raised)
    beat("reconciler", f"{len(result.closed)} closed, {len(result.unalerted)} down with no "
                       "incident")
    return result
