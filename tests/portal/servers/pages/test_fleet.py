"""The dashboard's fleet view and wall mode: the whole enabled fleet, problems first, with
down since or latency (never a failed probe's time), heartbeats and certificate days
from the exporter's latest entries; the view each user chose is remembered."""

import json
import re
import time

import pytest

from portal.auth.models import User
from portal.charts.uptime import UPTIME_KEY
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.redis_client import get_redis
from portal.servers.fleet import cert_days, heartbeat_bar
from portal.servers.pages.dashboard import DASHBOARD_PAGE_SIZE
from tests.factories import make_server, record_state
from tests.support.pages import sign_in
from wire import HEARTBEATS, LATEST_HASH


def _latest(server, status: str, *, latency_ms: float | None = 12.0, beats: str = "",
            cert_expiry: float | None = None, reason: str | None = None) -> None:
    """The exporter's entry for the server, as exporter/publish.py writes it."""
    get_redis().hset(LATEST_HASH, str(server.id), json.dumps({
        "server_id": server.id, "status": status, "reason": reason, "latency_ms": latency_ms,
        "checked_at": utcnow().isoformat(), "status_code": 200 if status == "up" else 503,
        "cert_expiry": cert_expiry, "beats": beats, "beat_latency_ms": []}))


def _fleet_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="fleet-cell[^"]*" data-fleet-id="(\d+)"', html)]


def _cell(html: str, server) -> str:
    return html.split(f'data-fleet-id="{server.id}"', 1)[1].split("</li>", 1)[0]


def _choose(client, view: str, **filters):
    token = client.get_cookie("csrf_access_token").value
    return client.post("/dashboard/view", data={"view": view, "csrf_token": token, **filters})


def test_the_fleet_view_shows_the_whole_fleet_on_one_page_problems_first(client):
    user = sign_in(client)
    servers = [make_server(f"node-{n:03d}") for n in range(DASHBOARD_PAGE_SIZE + 12)]
    last = servers[-1]
    record_state(last, "down", utcnow(), reason="connection refused")
    for server in servers[:-1]:
        _latest(server, "up")
    _latest(last, "down", latency_ms=None, reason="connection refused")
    assert _choose(client, "fleet").status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    ids = _fleet_ids(html)
    assert len(ids) == len(servers) and ids[0] == last.id
    assert "Dashboard pages" not in html and 'aria-pressed="true"><i class="bi bi-list-ul"' in html
    assert db.session.get(User, user.id).dashboard_view == "fleet"
    down = _cell(html, last)
    assert "since " in down and "Down since" in down and " ms" not in down


def test_a_failed_probe_shows_no_latency_in_the_api_the_tiles_or_the_fleet(client):
    sign_in(client)
    server = make_server("slow-core")
    record_state(server, "down", utcnow(), reason="timeout")  # the stream's change had 12.5 ms
    _latest(server, "down", latency_ms=9600.0, reason="timeout")  # an old exporter's entry
    fast = make_server("fast-core")
    _latest(fast, "up", latency_ms=41.6)
    items = {item["id"]: item for item in client.get("/api/servers").get_json()["items"]}
    assert items[server.id]["status"] == "down" and items[server.id]["latency_ms"] is None
    assert items[fast.id]["latency_ms"] == 41.6
    tiles = client.get("/dashboard?view=tiles").get_data(as_text=True)
    assert "9600 ms" not in tiles and "12 ms" not in tiles and "42 ms" in tiles
    fleet = client.get("/dashboard?view=fleet").get_data(as_text=True)
    assert "9600" not in _cell(fleet, server) and " ms" not in _cell(fleet, server)
    assert "42 ms" in _cell(fleet, fast)
    one = client.get(f"/api/servers/{server.id}").get_json()
    assert one["latency_ms"] is None


def test_heartbeats_and_certificate_days_come_from_the_latest_entries(client):
    sign_in(client)
    now = time.time()
    soon = make_server("soon-web")
    _latest(soon, "up", beats="uudu", cert_expiry=now + 5.5 * 86400)
    later = make_server("later-web")
    _latest(later, "up", beats="u" * HEARTBEATS, cert_expiry=now + 10.2 * 86400)
    plain = make_server("plain-tcp", kind="tcp")
    _latest(plain, "up", beats="d")
    get_redis().hset(UPTIME_KEY, mapping={soon.id: 99.0})
    api = {item["id"]: item for item in client.get("/api/servers").get_json()["items"]}
    assert api[soon.id]["beats"] == "uudu" and api[plain.id]["cert_expiry"] is None
    html = client.get("/dashboard?view=fleet").get_data(as_text=True)
    cell = _cell(html, soon)
    assert "Last 4 probes (all since the exporter last started): 3 up, 1 down" in cell
    assert 'class="fleet-cert cert-danger"' in cell and "5 d" in cell
    assert "99.0%" in cell
    assert 'cert-warn' in _cell(html, later) and "10 d" in _cell(html, later)
    assert f"Last {HEARTBEATS} probes: {HEARTBEATS} up, 0 down" in _cell(html, later)
    assert "fleet-cert cert-" not in _cell(html, plain)
    tiles = client.get("/dashboard?view=tiles").get_data(as_text=True)
    tile = tiles.split(f'data-server-id="{soon.id}"', 1)[1].split("</article>", 1)[0]
    assert 'data-field="cert-days"' in tile and "5 d left" in tile and "cert-danger" in tile


def test_heartbeat_bar_geometry_and_certificate_grades():
    bar = heartbeat_bar("uudu")  # newest at the right, runs of one outcome drawn as one
    start = HEARTBEATS - 4
    assert bar.up == f"M{start} 0h2v10h-2zM{start + 3} 0h1v10h-1z"
    assert bar.down == f"M{start + 2} 0h1v10h-1z" and (bar.count, bar.failures) == (4, 1)
    assert heartbeat_bar("u" * HEARTBEATS).up == f"M0 0h{HEARTBEATS}v10h-{HEARTBEATS}z"
    assert heartbeat_bar("").label == "No probe results yet"
    assert heartbeat_bar("u" * (HEARTBEATS + 5)).count == HEARTBEATS
    now = 1_800_000_000.0
    assert cert_days(None, now) is None
    assert cert_days(now + 20 * 86400, now).grade == "ok"
    assert cert_days(now + 13.9 * 86400, now).grade == "warn"
    assert cert_days(now + 6.9 * 86400, now).grade == "danger"
    expired = cert_days(now - 1.5 * 86400, now)
    assert expired.grade == "danger" and expired.text == "expired 2 d ago"


def test_the_choice_is_the_users_own_and_a_bad_one_is_refused(client):
    sign_in(client)
    make_server("one")
    response = _choose(client, "fleet", environment="production")
    assert response.status_code == 302 and response.location.endswith("/dashboard?environment=production")
    assert 'data-testid="fleet"' in client.get("/dashboard").get_data(as_text=True)
    assert _choose(client, "wall").status_code == 400
    _choose(client, "tiles")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="tiles"' in html and 'data-view-chosen="true"' in html
    sign_in(client, "customer_engagement")
    assert 'data-view-chosen="false"' in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("by, first", [("environment", "production"), ("group", "payments")])
def test_the_wall_groups_the_fleet_problems_first(client, by, first):
    sign_in(client, "customer_engagement")
    calm = make_server("calm", environment="staging", group="web")
    broken = make_server("broken", environment="production", group="payments")
    fine = make_server("fine", environment="production", group="payments")
    for server in (calm, fine):
        _latest(server, "up")
    record_state(broken, "down", utcnow(), reason="refused")
    _latest(broken, "down", latency_ms=None)
    html = client.get(f"/wall?by={by}").get_data(as_text=True)
    headings = re.findall(r'<h2 class="wall-section-heading"[^>]*>([^<]+)', html)
    assert headings[0].strip() == first
    assert _fleet_ids(html)[:2] == [broken.id, fine.id]
    assert 'data-count="down">1<' in html and "data-wall-clock" in html
    assert "<nav" not in html and "<form" not in html and "sidebar" not in html
    # Its clock names the zone as every page does ("EAT"), not as the browser would ("GMT+3").
    assert re.search(r'<body[^>]*data-zone-abbrs="[^"]*EAT', html)


def test_the_wall_needs_status_view(client):
    assert client.get("/wall").status_code in (302, 401)
