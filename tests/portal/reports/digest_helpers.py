"""Shared by the daily digest tests: a fleet with a day of incidents in Kampala."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from portal.extensions import db
from portal.servers.models import Server
from tests.factories import make_incident, make_server

SENT_ON = date(2026, 11, 20)  # yesterday: 2026-11-19, 18T21:00Z to 19T21:00Z in Kampala (EAT)
DAY_START = datetime(2026, 11, 18, 21, 0, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # 08:00 EAT on the day it is sent


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def server(name: str, **fields) -> Server:
    """A server registered long before the day, so all of it was expected up."""
    row = make_server(name, **fields)
    row.created_at = DAY_START - timedelta(days=30)
    db.session.commit()
    return row


def heartbeat_server(name: str, **fields) -> Server:
    """A heartbeat monitor (a daily job), registered long before the day."""
    return server(name, kind="heartbeat", heartbeat_period_s=86400, **fields)


def a_late_job() -> dict:
    """The backup job ran late yesterday, 03:00-04:15 EAT; its server is in core-banking."""
    job = heartbeat_server("nightly-backup", group="core-banking")
    return {"late_job": make_incident(job, utc(19, 0), utc(19, 1, 15),
                                      reason="late: no ping by 03:00")}


def a_day_of_incidents() -> dict:
    """Incidents around the Kampala day 2026-11-19, named by what the digest must do with
    them; availability: core-banking 2 servers 30 min down, payments 1 server 36 min."""
    cbs = server("cbs-app", group="core-banking")
    server("cbs-db", group="core-banking")
    gateway = server("mobile-gw", group="payments")
    server("intranet")
    return {
        # 08:00-08:30 EAT on the 19th
        "morning": make_incident(cbs, utc(19, 5), utc(19, 5, 30), reason="connection refused"),
        # 01:00-01:36 EAT on the 19th, though the 18th in UTC
        "after_local_midnight": make_incident(gateway, utc(18, 22), utc(18, 22, 36),
                                              reason="timeout"),
        # 00:30 EAT on the 20th, though the 19th in UTC: today's, not yesterday's
        "today": make_incident(cbs, utc(19, 21, 30), utc(19, 21, 40)),
        # 23:00-23:30 EAT on the 18th: the day before yesterday
        "before": make_incident(gateway, utc(18, 20), utc(18, 20, 30)),
        # a warning that began yesterday and is open still
        "warning_open": make_incident(gateway, utc(19, 10), name="CertificateExpiring",
                                      severity="warning", summary="certificate expires in 9 days"),
        # a warning long closed
        "warning_closed": make_incident(cbs, utc(10, 10), utc(10, 11), name="SlowResponses",
                                        severity="warning", summary="slow"),
        # an info alert yesterday: not in the digest
        "info": make_incident(cbs, utc(19, 6), utc(19, 7), name="ProbeNote", severity="info"),
    }
