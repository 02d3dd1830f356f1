"""Outages the probes see before Alertmanager has opened their incident.

The exporter says "down" within seconds; ``ServerDown`` reaches the webhook some 20-30 s
later (docs/design.md, "How an outage travels"). In between, the dashboard is red and the
Alerts page would have nothing to say, so it lists such a server as "Down since 14:02:05,
incident opening", from the same effective status the ``status`` event carries.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.incidents.models import Incident
from portal.servers.listing import as_rows, serialize_rows
from portal.servers.models import Server, ServerStatus

OUTAGE_ALERT = "ServerDown"


def opening_outages(server_id: int | None = None) -> list[dict]:
    """Enabled servers whose effective status is down and that have no open ``ServerDown``
    incident, oldest outage first: ``{server_id, server, since, reason}``."""
    with_incident = select(Incident.server_id).where(
        Incident.ended_at.is_(None), Incident.alertname == OUTAGE_ALERT,
        Incident.server_id.is_not(None))
    query = (select(Server).outerjoin(ServerStatus, ServerStatus.server_id == Server.id)
             .where(Server.enabled.is_(True), Server.id.not_in(with_incident)))
    if server_id is not None:
        query = query.where(Server.id == server_id)
    items = serialize_rows(db.session.execute(as_rows(query.order_by(Server.id))).all(),
                           uptime_span=False)
    down = [{"server_id": item["id"], "server": item["name"], "since": item["status_since"],
             "reason": item["reason"]} for item in items if item["status"] == "down"]
    return sorted(down, key=lambda item: (item["since"] or "", item["server"]))
