"""What the server page and the pings API say about a job: its state against its schedule,
and its newest pings.

The verdict is ``wire.heartbeat.verdict`` over the stored state, the exporter's own rule;
the page's "late" is therefore the alert's, except that the exporter also waits for Redis
to have been heard a while (exporter/heartbeats.py) before it believes a silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from portal.charts.uptime import span_text
from portal.dbtypes import utcnow
from portal.heartbeats.models import HeartbeatPing, HeartbeatState
from portal.heartbeats.schedule import crontab_times, schedule_of, schedule_words
from portal.heartbeats.service import job_state, wire_state
from portal.servers.models import Server
from wire.heartbeat import verdict


@dataclass(frozen=True, slots=True)
class JobSummary:
    """``deadline``: when the job is late unless it pings (None once it failed: only a
    success mends that); ``late_since``: the deadline it missed, when it has."""

    schedule: str
    crontab: str  # the schedule as a crontab line's times, for the page's example
    grace: str
    state: HeartbeatState | None
    status: str  # "up" or "down", by the schedule alone (no maintenance, no pause)
    reason: str | None
    deadline: datetime | None
    late_since: datetime | None


def _moment(seconds: float | None) -> datetime | None:
    if seconds is None or seconds == float("inf"):
        return None
    return datetime.fromtimestamp(seconds, UTC)


def job_summary(server: Server, zone: tzinfo, now: datetime | None = None) -> JobSummary:
    """``zone``: the timezone setting (the cron expression's, as the exporter reads it)."""
    schedule = schedule_of(server, zone)
    state = job_state(server.id)
    judged = verdict(schedule, wire_state(state) if state else None,
                     (now or utcnow()).timestamp())
    late = judged.reason_code == "late"
    return JobSummary(
        schedule=schedule_words(schedule.period_s, schedule.cron, getattr(zone, "key", None)),
        crontab=crontab_times(schedule.period_s, schedule.cron),
        grace=span_text(schedule.grace_s), state=state, status=judged.status,
        reason=judged.reason, deadline=_moment(judged.deadline),
        late_since=_moment(judged.at) if late else None)


def serialize_ping(ping: HeartbeatPing) -> dict:
    return {
        "at": ping.at.isoformat(),
        "kind": ping.kind,
        "exit_code": ping.exit_code,
        "duration_s": ping.duration_s,
        "source": ping.source,
        "method": ping.method,
        "user_agent": ping.user_agent,
        "body": ping.body,
    }
