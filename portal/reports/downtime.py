"""Downtime per server over a period: availability, incidents, MTTR, MTBF.

Built to stream: servers and their incidents are read in server order and merged, so
each server's summary is complete as soon as its last incident is read, and a report
over thousands of servers never holds more than one server's incidents in memory.

Downtime is the time covered by ``ServerDown`` incidents, clipped to the period and to
the server's lifetime. Incidents that overlap (older versions could open two for one
outage) count once: an outage is a run of overlapping incidents, each incident's line
shows only the time it adds, and so availability stays within 0-100 % and MTBF positive.
A flapping period is one incident, but only its down parts (from the log) are downtime.
Time inside a maintenance window is taken out of both the
downtime and the time the server was expected to be up; downtime during maintenance is
reported separately so it stays visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.flapping import down_segments
from portal.incidents.models import DOWNTIME_ALERT, Incident, MaintenanceWindow
from portal.servers.labels import BUILTIN_LABELS, label_condition
from portal.servers.models import Server, ServerLabel
from portal.servers.status import window_matches

Interval = tuple[datetime, datetime]
PRESETS = ("today", "last_7_days", "last_30_days", "last_month")  # see preset_period
MAX_DAYS = 400  # the longest period a report covers


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    timezone: ZoneInfo

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Scope:
    server_id: int | None = None
    label: tuple[str, str] | None = None


@dataclass
class IncidentLine:
    id: int
    server_id: int
    server: str
    started_at: datetime
    ended_at: datetime | None
    downtime_s: float
    maintenance_s: float
    reason: str | None
    summary: str | None
    acknowledged_by: str | None


@dataclass
class ServerReport:
    server_id: int
    server: str
    kind: str
    environment: str | None
    group: str | None
    expected_s: float = 0.0
    maintenance_s: float = 0.0
    downtime_s: float = 0.0
    maintenance_downtime_s: float = 0.0
    longest_s: float = 0.0
    incidents: int = 0
    lines: list[IncidentLine] = field(default_factory=list)

    @property
    def availability_pct(self) -> float | None:
        if self.expected_s <= 0:
            return None
        return round(100.0 * (self.expected_s - self.downtime_s) / self.expected_s, 4)

    @property
    def mttr_s(self) -> float | None:
        return self.downtime_s / self.incidents if self.incidents else None

    @property
    def mtbf_s(self) -> float | None:
        """Mean time up between failures; None (shown as "—", not "0 s") without a failure
        or when the server was never up in the period: there was no time between failures."""
        up_s = self.expected_s - self.downtime_s
        return up_s / self.incidents if self.incidents and up_s > 0 else None


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap_s(interval: Interval, others: list[Interval]) -> float:
    start, end = interval
    total = 0.0
    for other_start, other_end in others:
        if other_start >= end:
            break
        lo, hi = max(start, other_start), min(end, other_end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def _server_rows(scope: Scope) -> list:
    query = select(Server.id, Server.name, Server.kind, Server.environment, Server.group_name,
                   Server.created_at).order_by(Server.id)
    if scope.server_id is not None:
        query = query.where(Server.id == scope.server_id)
    if scope.label is not None:
        query = query.where(label_condition(*scope.label))
    return db.session.execute(query).all()


def _maintenance(servers: list, period: Period) -> dict[int, list[Interval]]:
    """Merged maintenance intervals per server, clipped to the period."""
    windows = db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.starts_at < period.end, MaintenanceWindow.ends_at > period.start,
    )).all()
    by_server: dict[int, list[Interval]] = {row.id: [] for row in servers}
    if not windows:
        return by_server
    labels: dict[int, dict[str, str]] = {row.id: {} for row in servers}
    if any(window.server_id is None for window in windows):
        # Every label in one pass: a report may cover more servers than an IN list holds.
        for server_id, key, value in db.session.execute(select(
                ServerLabel.server_id, ServerLabel.key, ServerLabel.value)):
            if server_id in labels:
                labels[server_id][key] = value
        for row in servers:
            labels[row.id].update({key: getattr(row, column) for key, column
                                   in BUILTIN_LABELS.items() if getattr(row, column)})
    for window in windows:
        end = min(window.ends_at, window.cancelled_at or window.ends_at, period.end)
        interval = (max(window.starts_at, period.start), end)
        if interval[1] <= interval[0]:
            continue
        if window.server_id is not None:
            if window.server_id in by_server:
                by_server[window.server_id].append(interval)
            continue
        for row in servers:
            if window_matches(window, row.id, labels[row.id]):
                by_server[row.id].append(interval)
    return {server_id: merge(intervals) for server_id, intervals in by_server.items()}


def _incidents(server_ids: list[int], period: Period) -> Iterator:
    query = (
        select(Incident.id, Incident.server_id, Incident.server_name, Incident.started_at,
               Incident.ended_at, Incident.reason, Incident.summary,
               Incident.acknowledged_by_name, Incident.flapping_since)
        .where(Incident.alertname == DOWNTIME_ALERT, Incident.started_at < period.end,
               or_(Incident.ended_at.is_(None), Incident.ended_at > period.start))
        .order_by(Incident.server_id, Incident.started_at)
    )
    if len(server_ids) <= 500:
        query = query.where(Incident.server_id.in_(server_ids))
    else:
        query = query.where(and_(Incident.server_id >= min(server_ids),
                                 Incident.server_id <= max(server_ids)))
    yield from db.session.execute(query.execution_options(yield_per=2000))


def _down_parts(incident, lo: datetime, hi: datetime, now: datetime) -> list[Interval]:
    """The incident's downtime within [lo, hi): all of it, or for a flapping period only
    its down parts (the log has them)."""
    if hi <= lo:
        return []
    if incident.flapping_since is None:
        return [(lo, hi)]
    row = db.session.get(Incident, incident.id)
    return [(max(start, lo), min(end, hi)) for start, end in down_segments(row, now)
            if min(end, hi) > max(start, lo)]


def _count_outage(report: ServerReport, downtime_s: float) -> None:
    if downtime_s > 0:
        report.incidents += 1
        report.longest_s = max(report.longest_s, downtime_s)


def _summarise(row, period: Period, maintenance: list[Interval], incidents: list,
               now: datetime, keep_lines: bool) -> ServerReport:
    report = ServerReport(server_id=row.id, server=row.name, kind=row.kind,
                          environment=row.environment, group=row.group_name)
    start = max(period.start, row.created_at)
    end = min(period.end, now)
    if end > start:
        report.maintenance_s = overlap_s((start, end), maintenance)
        report.expected_s = (end - start).total_seconds() - report.maintenance_s
    covered_until: datetime | None = None  # the end of the outage the sweep is in
    outage_s = 0.0
    for incident in incidents:  # in start order
        lo, hi = max(incident.started_at, start), min(incident.ended_at or now, end)
        if hi <= lo:
            continue
        if covered_until is None or lo > covered_until:
            _count_outage(report, outage_s)
            outage_s = 0.0
            counted_from = lo
        else:  # overlaps an earlier incident: only the time it adds counts
            counted_from = max(lo, covered_until)
        parts = _down_parts(incident, counted_from, hi, now)
        length = sum((part_hi - part_lo).total_seconds() for part_lo, part_hi in parts)
        in_maintenance = sum(overlap_s(part, maintenance) for part in parts)
        downtime = length - in_maintenance
        covered_until = max(covered_until or hi, hi)
        outage_s += downtime
        report.downtime_s += downtime
        report.maintenance_downtime_s += in_maintenance
        if keep_lines:
            report.lines.append(IncidentLine(
                id=incident.id, server_id=row.id, server=row.name,
                started_at=incident.started_at, ended_at=incident.ended_at,
                downtime_s=downtime, maintenance_s=in_maintenance, reason=incident.reason,
                summary=incident.summary, acknowledged_by=incident.acknowledged_by_name,
            ))
    _count_outage(report, outage_s)
    return report


def server_reports(period: Period, scope: Scope, *, keep_lines: bool = True
                   ) -> Iterator[ServerReport]:
    """One report per server in scope, in server order, each complete when yielded."""
    servers = _server_rows(scope)
    if not servers:
        return
    maintenance = _maintenance(servers, period)
    ids = {row.id for row in servers}
    now = utcnow()
    incidents = (i for i in _incidents(sorted(ids), period) if i.server_id in ids)
    pending = next(incidents, None)
    for row in servers:
        mine = []
        while pending is not None and pending.server_id <= row.id:
            if pending.server_id == row.id:
                mine.append(pending)
            pending = next(incidents, None)
        yield _summarise(row, period, maintenance[row.id], mine, now, keep_lines)


def preset_period(name: str, timezone: ZoneInfo, now: datetime | None = None) -> Period:
    """today, last_7_days, last_30_days, last_month: boundaries at local midnight."""
    local_now = (now or utcnow()).astimezone(timezone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "today":
        start, end = midnight, local_now
    elif name == "last_7_days":
        start, end = midnight - timedelta(days=7), local_now
    elif name == "last_30_days":
        start, end = midnight - timedelta(days=30), local_now
    elif name == "last_month":
        end = midnight.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    else:
        raise ValueError(f"unknown preset {name!r}")
    return Period(start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")), timezone)
