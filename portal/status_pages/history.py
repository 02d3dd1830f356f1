"""90 days of daily availability per server, for the bars of a status page.

The figures are the reports' (``reports.downtime``): downtime is what ``ServerDown``
incidents cover, maintenance is taken out of both downtime and expected time, and a day
before the server existed has no figure at all (not 100 %). The whole span is read once,
then cut into local days (the configured zone), so a page costs three queries however
many days and servers it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.dbtypes import utcnow
from portal.reports.downtime import (
    Period,
    Scope,
    _incidents,
    _maintenance,
    _server_rows,
    _summarise,
)

DAYS = 90
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Day:
    """One server's day: seconds it was expected up, and of those, down."""

    expected_s: float
    downtime_s: float


def day_periods(timezone: ZoneInfo, now: datetime, days: int = DAYS) -> list[tuple[date, Period]]:
    """The last ``days`` local days, oldest first, today (so far) last."""
    today = now.astimezone(timezone).date()
    periods = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime(day.year, day.month, day.day, tzinfo=timezone)
        end = min(start + timedelta(days=1), now)
        periods.append((day, Period(start.astimezone(UTC), end.astimezone(UTC), timezone)))
    return periods


def daily(server_ids: set[int], timezone: ZoneInfo,
          now: datetime | None = None) -> tuple[list[date], dict[int, list[Day | None]]]:
    """Per server, one entry per day (None: the server did not exist yet)."""
    now = now or utcnow()
    periods = day_periods(timezone, now)
    span = Period(periods[0][1].start, now, timezone)
    rows = [row for row in _server_rows(Scope()) if row.id in server_ids]
    result: dict[int, list[Day | None]] = {}
    if not rows:
        return [day for day, _ in periods], result
    maintenance = _maintenance(rows, span)
    incidents: dict[int, list] = {row.id: [] for row in rows}
    for incident in _incidents(sorted(incidents), span):
        if incident.server_id in incidents:
            incidents[incident.server_id].append(incident)
    for row in rows:
        days: list[Day | None] = []
        for _, period in periods:
            if row.created_at >= period.end:
                days.append(None)
                continue
            if not incidents[row.id] and not maintenance[row.id]:
                start = max(period.start, row.created_at)
                days.append(Day((period.end - start).total_seconds(), 0.0))
                continue
            report = _summarise(row, period, maintenance[row.id], incidents[row.id], now, False)
            days.append(Day(report.expected_s, report.downtime_s))
        result[row.id] = days
    return [day for day, _ in periods], result
