"""The daily digest's content: what happened yesterday, and what is still wrong now.

One digest per day, the same for everyone who asked for it (users.daily_digest): the
incidents of yesterday (critical and warning), availability by group over yesterday, the
warnings open now, and the jobs (heartbeat servers) that ran late or failed yesterday.
"Yesterday" is the local day before the one it is sent on, 00:00-24:00 in the configured
zone, as the reports' presets count days.

A heartbeat server's ServerDown incident is a late or failed run of its job, not an
outage: it is listed under the jobs, and the job is left out of the incident list and of
the availability figures, which would otherwise count a late backup as a server down.
Rendering is in digest_render.py, sending in digest_outbox.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import DOWNTIME_ALERT, Incident
from portal.reports.downtime import Period, Scope, ServerReport, server_reports
from portal.servers.models import Server

HEARTBEAT = "heartbeat"  # the server kind whose "outages" are late or failed job runs
SEVERITIES = ("critical", "warning")
LINES_SHOWN = 200  # per list; a storm beyond this is cut, and the digest says by how many
NO_GROUP = "(no group)"


@dataclass(frozen=True)
class Item:
    """One incident as the digest lists it; ``ended_at`` None: still open."""

    id: int
    server: str
    severity: str
    what: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float
    in_maintenance: bool


@dataclass(frozen=True)
class Listing:
    """The first LINES_SHOWN items of a list, and how many there were in all."""

    items: tuple[Item, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class GroupAvailability:
    group: str
    servers: int
    expected_s: float
    downtime_s: float
    incidents: int

    @property
    def availability_pct(self) -> float | None:
        """As the reports define it, over the group's servers together."""
        if self.expected_s <= 0:
            return None
        return round(100.0 * (self.expected_s - self.downtime_s) / self.expected_s, 4)


@dataclass(frozen=True)
class Digest:
    day: date  # the day it tells of (yesterday, for the day it is sent on)
    period: Period
    incidents: Listing
    availability: tuple[GroupAvailability, ...]  # worst first
    overall: GroupAvailability
    warnings_open: Listing
    late_jobs: Listing
    made_at: datetime


def day_period(day: date, zone: ZoneInfo) -> Period:
    """``day`` from local midnight to the next, in UTC (a DST day is 23 or 25 hours)."""
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return Period(start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")), zone)


def build_digest(sent_on: date, zone: ZoneInfo, now: datetime | None = None, *,
                 lines: int = LINES_SHOWN) -> Digest:
    """The digest sent on local date ``sent_on``: it tells of the day before; each list
    holds at most ``lines`` incidents."""
    now = now or utcnow()
    day = sent_on - timedelta(days=1)
    period = day_period(day, zone)
    groups = availability_by_group(period)
    return Digest(
        day=day, period=period,
        incidents=_listing(_overlapping(period).where(
            Incident.severity.in_(SEVERITIES), _not_a_job()), now, lines),
        availability=tuple(groups), overall=_overall(groups),
        warnings_open=_listing(select(Incident).outerjoin(Server, Server.id == Incident.server_id)
                               .where(Incident.severity == "warning",
                                      Incident.ended_at.is_(None)), now, lines),
        late_jobs=_listing(_overlapping(period).where(Server.kind == HEARTBEAT,
                                                      Incident.alertname == DOWNTIME_ALERT),
                           now, lines),
        made_at=now,
    )


def _not_a_job():
    return or_(Server.id.is_(None), Server.kind != HEARTBEAT)


def _overlapping(period: Period):
    """Incidents open at any time in the period: those that began before it and were
    still open count too (a server down for three days is in each day's digest)."""
    return (select(Incident).outerjoin(Server, Server.id == Incident.server_id)
            .where(Incident.started_at < period.end,
                   or_(Incident.ended_at.is_(None), Incident.ended_at > period.start)))


def _listing(query, now: datetime, lines: int) -> Listing:
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Incident.started_at, Incident.id)
                              .limit(lines)).all()
    return Listing(tuple(_item(row, now) for row in rows), total or 0)


def _item(incident: Incident, now: datetime) -> Item:
    labels = incident.labels or {}
    return Item(
        id=incident.id,
        server=incident.server_name or labels.get("server") or "",
        severity=incident.severity,
        what=incident.reason or incident.summary or incident.alertname,
        started_at=incident.started_at,
        ended_at=incident.ended_at,
        duration_s=((incident.ended_at or now) - incident.started_at).total_seconds(),
        in_maintenance=incident.in_maintenance or incident.maintenance_since is not None,
    )


def availability_by_group(period: Period) -> list[GroupAvailability]:
    """The downtime report's figures (portal/reports/downtime.py) added up per server
    group, heartbeat jobs left out; the worst group first, those with nothing expected
    (all of it in maintenance, or created since) last."""
    totals: dict[str, list[float]] = {}
    for report in _servers(server_reports(period, Scope(), keep_lines=False)):
        total = totals.setdefault(report.group or NO_GROUP, [0, 0.0, 0.0, 0])
        total[0] += 1
        total[1] += report.expected_s
        total[2] += report.downtime_s
        total[3] += report.incidents
    groups = [GroupAvailability(name, int(n), expected, down, int(incidents))
              for name, (n, expected, down, incidents) in totals.items()]
    return sorted(groups, key=lambda g: (g.availability_pct is None,
                                         g.availability_pct or 0.0, g.group == NO_GROUP, g.group))


def _servers(reports: Iterable[ServerReport]) -> Iterable[ServerReport]:
    return (report for report in reports if report.kind != HEARTBEAT)


def _overall(groups: list[GroupAvailability]) -> GroupAvailability:
    return GroupAvailability("all servers", sum(g.servers for g in groups),
                             sum(g.expected_s for g in groups),
                             sum(g.downtime_s for g in groups),
                             sum(g.incidents for g in groups))
