"""Availability covers only the time a server was monitored, and says so when that is
shorter than the window: a server four minutes old with 40 s down is "83.3 % over 4 min",
not a red "83 %" of a day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.charts.uptime import (
    UPTIME_KEY,
    format_pct,
    monitored_since,
    over,
    span_text,
    uptime_figures,
    uptime_label,
)
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.redis_client import get_redis
from tests.factories import make_server, record_state


def _aged(server, seconds: float):
    server.created_at = utcnow() - timedelta(seconds=seconds)
    db.session.commit()
    return server


def test_a_four_minute_old_server_is_labelled_with_its_four_minutes(app, monkeypatch):
    now = utcnow()
    # the figures are read at this instant, not whenever a loaded machine gets to them (a
    # CI run took over half a second between the rows and the read: 239 s, not 238)
    monkeypatch.setattr("portal.charts.uptime.utcnow", lambda: now)
    young = _aged(make_server("young"), 240)
    record_state(young, "up", now - timedelta(seconds=238))
    old = _aged(make_server("old"), 3 * 86400)
    record_state(old, "up", utcnow() - timedelta(days=2, hours=23))
    # 200 s up and 40 s down, as Prometheus averages the samples it has.
    get_redis().hset(UPTIME_KEY, mapping={str(young.id): 83.333, str(old.id): 99.95})
    figures = uptime_figures([young.id, old.id])
    assert figures[young.id] == {"pct": 83.333, "over_s": 238, "over": "3 min"}
    assert figures[old.id] == {"pct": 99.95, "over_s": None, "over": None}
    assert uptime_label(83.333, figures[young.id]["over_s"]) == \
        "Uptime over 3 min (monitored so far): 83.33 %"
    assert uptime_label(99.95) == "Uptime over 24 hours: 99.95 %"
    assert uptime_label(None) == "Uptime over 24 hours: no data yet"


def test_monitoring_begins_at_the_first_probe_or_else_at_creation(app):
    probed = _aged(make_server("probed"), 3600)
    first = utcnow() - timedelta(minutes=20)
    record_state(probed, "down", first)
    record_state(probed, "up", first + timedelta(minutes=5))
    waiting = _aged(make_server("waiting"), 600)
    since = monitored_since([probed.id, waiting.id])
    assert since[probed.id] == first.replace(microsecond=since[probed.id].microsecond)
    assert abs((since[waiting.id] - waiting.created_at).total_seconds()) < 1


@pytest.mark.parametrize(("age_s", "window_s", "expected"), [
    (240, 86400, {"over_s": 240, "over": "4 min"}),
    (240, 3600, {"over_s": 240, "over": "4 min"}),
    (2 * 86400 + 5 * 3600, 7 * 86400, {"over_s": 2 * 86400 + 5 * 3600, "over": "2 d 5 h"}),
    (2 * 86400, 86400, {"over_s": None, "over": None}),
    (86400 - 30, 86400, {"over_s": None, "over": None}),  # the first probe's moment of slack
])
def test_what_a_figure_covers(age_s, window_s, expected):
    now = utcnow()
    assert over(now - timedelta(seconds=age_s), window_s, now) == expected


def test_spans_and_percentages_are_written_for_people():
    assert [span_text(s) for s in (40, 240, 3 * 3600 + 20 * 60, 3600, 86400 + 7200)] == \
        ["40 s", "4 min", "3 h 20 min", "1 h", "1 d 2 h"]
    assert [format_pct(p) for p in (100.0, 99.99996, 99.95, 99.2, 83.3333)] == \
        ["100 %", "100 %", "99.95 %", "99.2 %", "83.33 %"]


def test_the_dashboard_and_the_api_label_a_young_servers_uptime(client):
    from tests.factories import login, make_user

    young = _aged(make_server("young"), 240)
    record_state(young, "up", utcnow() - timedelta(seconds=238))
    get_redis().hset(UPTIME_KEY, mapping={str(young.id): 83.333})
    headers = login(client, make_user("it_staff"))
    [item] = client.get("/api/servers", headers=headers).get_json()["items"]
    assert item["uptime_24h"] == 83.333 and 238 <= item["uptime_over_s"] <= 241
    tiles = client.get("/dashboard?view=tiles").get_data(as_text=True)
    assert 'aria-label="Uptime over 3 min (monitored so far): 83.33 %"' in tiles
    assert ">3 min</div>" in tiles and ">24 h</div>" not in tiles
    fleet = client.get("/dashboard?view=fleet").get_data(as_text=True)
    assert 'title="Uptime over 3 min (monitored so far): 83.33 %"' in fleet
