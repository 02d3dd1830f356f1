"""Servers' open warnings: incidents of severity "warning" not yet resolved, for the
badges on the dashboard's tiles and cells and on the server page.

Warnings come before outages (a disk filling, a certificate near its end) and never page
by e-mail or SMS (``portal.notify.recipients``); the badge is where people see them, with
the daily digest. One query for a whole page of servers: open warnings are few, so they
are all read and kept for the servers asked about (no ``IN`` list of a thousand ids).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.incidents.models import Incident

SEVERITY = "warning"


@dataclass(frozen=True)
class OpenWarning:
    id: int
    alertname: str
    summary: str | None

    @property
    def text(self) -> str:
        """"DiskFilling: /var 93 % full", or the alert's name alone."""
        return f"{self.alertname}: {self.summary}" if self.summary else self.alertname

    @property
    def data(self) -> dict:
        """What a badge carries for live/warnings.js to keep it current."""
        return {"id": self.id, "text": self.text}


def open_warnings(server_ids: list[int]) -> dict[int, list[OpenWarning]]:
    """Each server's open warnings, oldest first; servers without any are left out."""
    wanted = set(server_ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Incident.id, Incident.server_id, Incident.alertname, Incident.summary)
        .where(Incident.severity == SEVERITY, Incident.ended_at.is_(None),
               Incident.server_id.is_not(None))
        .order_by(Incident.started_at, Incident.id))
    found: dict[int, list[OpenWarning]] = {}
    for row in rows:
        if row.server_id in wanted:
            found.setdefault(row.server_id, []).append(OpenWarning(row.id, row.alertname, row.summary))
    return found

