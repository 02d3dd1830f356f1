"""The daily digest's content: yesterday's incidents in the configured zone's day,
availability by group, warnings open now, late jobs; text and HTML, everything escaped."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.reports.digest import NO_GROUP, build_digest, day_period
from portal.reports.digest_render import render
from tests.factories import make_incident
from tests.portal.reports.digest_helpers import (
    DAY_END,
    DAY_START,
    NOW,
    SENT_ON,
    a_day_of_incidents,
    a_late_job,
    server,
    utc,
)

KAMPALA = ZoneInfo("Africa/Kampala")
PORTAL = "https://servermon.bank.example"


@pytest.fixture
def day(app):
    return a_day_of_incidents()


@pytest.fixture
def job(day):
    return a_late_job()["late_job"]


def test_yesterday_is_the_local_day_before_the_one_it_is_sent_on():
    period = day_period(date(2026, 11, 19), KAMPALA)
    assert (period.start, period.end) == (DAY_START, DAY_END)
    spring = day_period(date(2026, 3, 29), ZoneInfo("Europe/London"))  # clocks go forward
    assert spring.end - spring.start == timedelta(hours=23)


def test_it_lists_the_incidents_of_the_kampala_day_critical_and_warning(day):
    digest = build_digest(SENT_ON, KAMPALA, NOW)
    assert digest.day == date(2026, 11, 19)
    listed = [item.id for item in digest.incidents.items]
    assert listed == [day["after_local_midnight"].id, day["morning"].id, day["warning_open"].id]
    morning = digest.incidents.items[1]
    assert (morning.server, morning.what, morning.duration_s) == ("cbs-app", "connection refused",
                                                                  1800)
    still_open = digest.incidents.items[2]
    assert still_open.ended_at is None
    assert still_open.duration_s == (NOW - utc(19, 10)).total_seconds()


def test_an_outage_that_began_before_and_lasted_into_yesterday_is_in_it(app):
    gateway = server("mobile-gw", group="payments")
    long = make_incident(gateway, utc(17, 9), utc(19, 9))
    digest = build_digest(SENT_ON, KAMPALA, NOW)
    assert [item.id for item in digest.incidents.items] == [long.id]


def test_the_day_follows_the_configured_zone(day):
    utc_digest = build_digest(SENT_ON, ZoneInfo("UTC"), NOW)  # 2026-11-19 00:00-24:00 UTC
    listed = {item.id for item in utc_digest.incidents.items}
    assert day["today"].id in listed and day["after_local_midnight"].id not in listed


def test_availability_by_group_worst_first_with_the_jobs_left_out(day, job):
    digest = build_digest(SENT_ON, KAMPALA, NOW)
    figures = [(g.group, g.servers, g.availability_pct, g.downtime_s, g.incidents)
               for g in digest.availability]
    assert figures == [
        ("payments", 1, 97.5, 2160.0, 1),            # 36 min of 24 h
        ("core-banking", 2, 98.9583, 1800.0, 1),     # 30 min of 48 server-hours
        (NO_GROUP, 1, 100.0, 0.0, 0),
    ]
    assert (digest.overall.servers, digest.overall.availability_pct) == (4, 98.8542)


def test_warnings_open_now_whenever_they_began(day):
    older = make_incident(server("ledger"), utc(1, 8), name="DiskFilling", severity="warning",
                          summary="disk 91 % full")
    digest = build_digest(SENT_ON, KAMPALA, NOW)
    assert [item.id for item in digest.warnings_open.items] == [older.id, day["warning_open"].id]
    assert digest.warnings_open.items[0].what == "disk 91 % full"


def test_a_heartbeat_jobs_incident_is_a_late_job_not_an_outage(day, job):
    digest = build_digest(SENT_ON, KAMPALA, NOW)
    [late] = digest.late_jobs.items
    assert (late.id, late.server, late.what, late.duration_s) == (
        job.id, "nightly-backup", "late: no ping by 03:00", 4500)
    assert job.id not in {item.id for item in digest.incidents.items}


def test_the_text_says_when_and_for_how_long(day, job):
    mail = render(build_digest(SENT_ON, KAMPALA, NOW), PORTAL)
    assert mail.subject == ("[servermon] Daily digest for 2026-11-19: 3 incidents, 1 warning "
                            "open, 1 late job")
    text = mail.text
    assert ("- CRITICAL cbs-app: connection refused; from 2026-11-19 08:00 EAT to 2026-11-19 "
            "08:30 EAT (30 min)") in text
    assert ("- WARNING mobile-gw: certificate expires in 9 days; from 2026-11-19 13:00 EAT, "
            "still open (19 h so far)") in text
    assert "- payments: 97.500 % (1 server, 1 outage, down 36 min)" in text
    assert "Availability by group yesterday: 98.854 % over 4 servers" in text
    assert ("- nightly-backup: late: no ping by 03:00; from 2026-11-19 03:00 EAT to 2026-11-19 "
            "04:15 EAT (1 h 15 min)") in text
    assert f"{PORTAL}/reports?preset=custom&from=2026-11-19&to=2026-11-19" in text
    assert mail.html.count(f'href="{PORTAL}/alerts?incident=') == 5  # 3 + 1 warning + 1 job


def test_a_quiet_day_says_so(app):
    mail = render(build_digest(SENT_ON, KAMPALA, NOW), PORTAL)
    assert "0 incidents, 0 warnings open, 0 late jobs" in mail.subject
    assert "Incidents yesterday (0)\n\nNone." in mail.text
    assert "No servers." in mail.text


def test_names_and_alert_text_are_escaped_in_html_and_kept_to_a_line_in_text(app):
    evil = server('<img src=x onerror="alert(1)">', group="<b>ops</b>",
                  target="https://evil.bank.example/")
    make_incident(evil, utc(19, 5), utc(19, 6), reason='<script>alert("x")</script>\n- CRITICAL forged')
    mail = render(build_digest(SENT_ON, KAMPALA, NOW), PORTAL)
    assert "<script>" not in mail.html and "<img" not in mail.html and "<b>ops" not in mail.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in mail.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in mail.html
    assert "&lt;b&gt;ops&lt;/b&gt;" in mail.html
    assert "\n- CRITICAL forged" not in mail.text
    assert '<script>alert("x")</script> - CRITICAL forged' in mail.text  # one line, as typed


def test_a_storm_is_cut_and_says_by_how_many(app):
    cbs = server("cbs-app")
    for minute in range(0, 50, 10):
        make_incident(cbs, utc(19, 5, minute), utc(19, 5, minute + 5))
    built = build_digest(SENT_ON, KAMPALA, NOW, lines=2)
    assert (len(built.incidents.items), built.incidents.total) == (2, 5)
    assert "... and 3 more on the Alerts page." in render(built, PORTAL).text
