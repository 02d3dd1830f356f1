"""A heartbeat server's schedule as the exporter judges it: ``schedule_of`` builds the
``wire.heartbeat.Schedule`` that service discovery sends (portal/servers/discovery.py) and
the server page reads its deadline from, so the two can never disagree."""

from __future__ import annotations

from datetime import tzinfo

from portal.servers.models import Server
from wire.heartbeat import GRACE_RANGE_S, Schedule


def schedule_of(server: Server, zone: tzinfo) -> Schedule:
    """``zone``: the timezone setting, which a cron expression is read in."""
    since = server.heartbeat_since or server.created_at
    return Schedule(
        grace_s=float(server.heartbeat_grace_s or GRACE_RANGE_S[0]),
        since=since.timestamp() if since else 0.0,
        period_s=float(server.heartbeat_period_s) if server.heartbeat_period_s else None,
        cron=server.heartbeat_cron or None,
        zone=zone)
