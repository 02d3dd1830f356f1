"""Times as pages write them: the configured zone, 24-hour, seconds where asked, and one
label style (the zone's abbreviation, "EAT", never the browser-style "GMT+3")."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from flask import g, render_template_string

from portal.settings.service import update_settings
from portal.web.formatting import (
    display_zone_label,
    localtime,
    seconds_time,
    zone_abbreviations,
    zone_label,
)
from tests.factories import make_user

AFTERNOON = datetime(2026, 1, 31, 11, 5, 9, tzinfo=UTC)  # 14:05:09 in Nairobi


@contextmanager
def _in_zone(app, zone: str):
    """A request with the portal set to ``zone`` (the test's app context outlives it, so
    what the last request looked up is forgotten)."""
    update_settings({"timezone": zone}, make_user("admin"))
    with app.test_request_context("/"):
        g.pop("display_zone", None)
        g.pop("settings", None)
        yield


def test_times_are_24_hour_in_the_configured_zone_with_its_abbreviation(app):
    with _in_zone(app, "Africa/Nairobi"):
        assert localtime(AFTERNOON) == "2026-01-31 14:05"
        assert seconds_time(AFTERNOON) == "2026-01-31 14:05:09 EAT"
        assert localtime("2026-01-31T11:05:09+00:00", "%H:%M:%S %Z") == "14:05:09 EAT"
        assert localtime(AFTERNOON.timestamp(), "%H:%M %Z") == "14:05 EAT"
        assert display_zone_label() == "EAT"
        assert render_template_string("{{ t|seconds_time }}", t=AFTERNOON) == "2026-01-31 14:05:09 EAT"
        assert localtime(None) == "never"


def test_a_zone_without_an_abbreviation_is_labelled_by_its_utc_offset(app):
    with _in_zone(app, "Asia/Dubai"):  # tzdata's own label is "+04"
        assert seconds_time(AFTERNOON) == "2026-01-31 15:05:09 UTC+04"
    with _in_zone(app, "Asia/Kolkata"):
        assert seconds_time(AFTERNOON) == "2026-01-31 16:35:09 IST"
    with _in_zone(app, "Asia/Kathmandu"):
        assert seconds_time(AFTERNOON) == "2026-01-31 16:50:09 UTC+05:45"
    with _in_zone(app, "UTC"):
        assert seconds_time(AFTERNOON) == "2026-01-31 11:05:09 UTC"


def test_labels_come_from_the_moment_itself():
    from zoneinfo import ZoneInfo

    assert zone_label(AFTERNOON.astimezone(ZoneInfo("America/New_York"))) == "EST"
    assert zone_label(AFTERNOON.astimezone(ZoneInfo("Etc/GMT-3"))) == "UTC+03"


def test_a_zone_with_daylight_saving_gets_the_label_of_the_moment(app):
    with _in_zone(app, "Europe/London"):
        assert seconds_time(datetime(2026, 1, 31, 11, 5, 9, tzinfo=UTC)).endswith(" GMT")
        assert seconds_time(datetime(2026, 7, 31, 11, 5, 9, tzinfo=UTC)) == "2026-07-31 12:05:09 BST"


@pytest.mark.parametrize(("zone", "expected"), [
    ("Africa/Nairobi", {"180": "EAT"}),
    ("Asia/Dubai", {"240": "UTC+04"}),
])
def test_scripts_get_the_abbreviation_of_each_offset(app, zone, expected):
    with _in_zone(app, zone):
        assert json.loads(zone_abbreviations()) == expected


def test_the_server_page_hands_its_charts_the_abbreviations(app, client):
    from tests.factories import make_server, record_state
    from tests.support.pages import sign_in

    user = sign_in(client)
    update_settings({"timezone": "Africa/Nairobi"}, user)
    server = make_server("cbs")
    record_state(server, "down", AFTERNOON, reason="connection refused")
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    assert 'data-zone-abbrs="{&#34;180&#34;: &#34;EAT&#34;}"' in html
    assert "When (EAT)" in html  # the log's heading names the zone once
    assert "2026-01-31 14:05:09</td>" in html
    assert "GMT+3" not in html
