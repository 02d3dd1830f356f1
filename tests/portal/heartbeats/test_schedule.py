"""A heartbeat's schedule: the page reads the one the exporter reads, and says it in words."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from exporter.targets import Target
from portal.dbtypes import utcnow
from portal.heartbeats.runs import job_summary
from portal.heartbeats.schedule import crontab_times, schedule_of, schedule_words, target_text
from portal.servers.discovery import target_group
from portal.servers.ping_keys import ping_key
from tests.factories import make_server

KAMPALA = ZoneInfo("Africa/Kampala")


@pytest.mark.parametrize("fields", [
    {"heartbeat_period_s": 5400, "heartbeat_grace_s": 120},
    {"heartbeat_cron": "30 23 * * 1-5", "heartbeat_period_s": None},
])
def test_the_page_builds_the_schedule_the_exporter_reads_from_sd(app, fields):
    server = make_server(kind="heartbeat", **fields)
    seen = Target.from_group(target_group(server, "Africa/Kampala")).heartbeat
    assert schedule_of(server, KAMPALA) == seen


def test_the_summary_dates_a_missed_deadline_from_the_schedule(client, app):
    server = make_server(kind="heartbeat", heartbeat_period_s=3600, heartbeat_grace_s=300)
    begun = server.heartbeat_since
    on_time = job_summary(server, KAMPALA, now=begun + timedelta(minutes=30))
    assert (on_time.status, on_time.late_since) == ("up", None)
    assert on_time.deadline == begun + timedelta(minutes=65)
    late = job_summary(server, KAMPALA, now=begun + timedelta(minutes=66))
    assert (late.status, late.deadline, late.late_since) == ("down", None,
                                                             begun + timedelta(minutes=65))
    client.get(f"/ping/{ping_key(server)}/fail")
    failed = job_summary(server, KAMPALA, now=utcnow())
    assert (failed.status, failed.deadline, failed.reason) == ("down", None, "run failed")


@pytest.mark.parametrize(("period", "cron", "zone", "words"), [
    (3600, None, None, "every 1 h"),
    (5400, None, "Africa/Kampala", "every 1 h 30 min"),
    (86400, None, None, "every 1 d"),
    (None, "30 23 * * *", "Africa/Kampala", "cron 30 23 * * * in Africa/Kampala"),
    (None, "30 23 * * *", None, "cron 30 23 * * *"),
])
def test_schedule_words(period, cron, zone, words):
    assert schedule_words(period, cron, zone) == words


@pytest.mark.parametrize(("period", "cron", "fields"), [
    (None, "30 23 * * 1-5", "30 23 * * 1-5"),
    (60, None, "* * * * *"),
    (900, None, "*/15 * * * *"),
    (3600, None, "0 * * * *"),
    (21600, None, "0 */6 * * *"),
    (86400, None, "0 0 * * *"),
    (5400, None, "m h * * *"),  # not a cron schedule: fields to fill in, not a wrong one
    (7 * 86400, None, "m h * * *"),
])
def test_the_crontab_example_keeps_the_schedule(period, cron, fields):
    assert crontab_times(period, cron) == fields


def test_a_heartbeat_shows_its_schedule_where_others_show_their_target():
    assert target_text({"kind": "http", "target": "https://a.example/"}) == "https://a.example/"
    assert target_text({"kind": "heartbeat", "target": "", "heartbeat_period_s": 3600,
                        "heartbeat_cron": None}) == "heartbeat, every 1 h"
    assert target_text({"kind": "heartbeat", "target": "", "heartbeat_period_s": None,
                        "heartbeat_cron": "0 6 * * *"}) == "heartbeat, cron 0 6 * * *"
