"""The dashboard: counts, one tile per server with problems first, paging, empty states."""

import re
from datetime import timedelta
from html import unescape

import pytest

from portal.charts.uptime import UPTIME_KEY
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import DOWNTIME_ALERT, Incident, MaintenanceWindow
from portal.rbac import ROLES
from portal.redis_client import get_redis
from portal.servers.pages import dashboard
from portal.servers.pages.dashboard import DASHBOARD_PAGE_SIZE
from portal.settings.service import update_settings
from tests.factories import make_server
from tests.support.pages import sign_in
from tests.support.waiting import wait_for


def _set_status(server, status, reason=None, latency_ms=None):
    server.state.status = status
    server.state.reason = reason
    server.state.latency_ms = latency_ms
    server.state.last_checked = utcnow()
    db.session.commit()


def _tile_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<article[^>]*data-server-id="(\d+)"', html)]


def test_the_root_redirects_to_the_dashboard(client):
    sign_in(client)
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.endswith("/dashboard")


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert "/login?next=/dashboard" in response.location


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_dashboard(client, role):
    sign_in(client, role)
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert b"<h1" in response.data and b"Dashboard" in response.data


def test_with_no_servers_a_manager_is_offered_to_add_one(client):
    sign_in(client, "it_staff")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "No servers yet" in html
    assert 'data-testid="add-first-server"' in html


def test_with_no_servers_a_viewer_is_told_to_ask_an_administrator(client):
    sign_in(client, "customer_engagement")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "No servers yet" in html
    assert "Ask an administrator" in html
    assert "/servers/new" not in html


def test_tiles_carry_status_in_colour_and_words_with_problems_first(client):
    sign_in(client)
    ok = make_server("aaa-web", environment="production")
    _set_status(ok, "up", latency_ms=42.4)
    broken = make_server("zzz-core", kind="tcp")
    _set_status(broken, "down", reason="connection refused")
    waiting = make_server("mmm-dns", kind="dns")
    html = client.get("/dashboard").get_data(as_text=True)
    assert _tile_ids(html) == [broken.id, waiting.id, ok.id]
    assert f'data-server-id="{broken.id}" data-status="down"' in html
    assert f'data-server-id="{waiting.id}" data-status="unknown"' in html
    assert "connection refused" in html and "42 ms" in html
    assert "waiting for the first probe" in html
    broken_tile = html.split(f'data-server-id="{broken.id}"', 1)[1].split("</article>", 1)[0]
    assert "text-bg-danger" in broken_tile and "Down" in broken_tile  # not the live templates'
    assert re.search(r'data-count="down">1<', html) and re.search(r'data-count="up">1<', html)


def test_maintenance_outranks_the_last_probe_and_an_open_outage_does_not(client):
    sign_in(client)
    patched = make_server("patched", environment="staging")
    _set_status(patched, "down", reason="rebooting")
    db.session.add(MaintenanceWindow(label_key="environment", label_value="staging", reason="patching",
                                     starts_at=utcnow() - timedelta(minutes=5),
                                     ends_at=utcnow() + timedelta(hours=1)))
    outage = make_server("outage", environment="production")
    _set_status(outage, "up")
    db.session.add(Incident(fingerprint="f" * 16, alert_started_at=utcnow(), alertname=DOWNTIME_ALERT,
                            severity="critical", server_id=outage.id, labels={},
                            started_at=utcnow() - timedelta(minutes=3)))
    db.session.commit()
    html = client.get("/dashboard").get_data(as_text=True)
    assert f'data-server-id="{patched.id}" data-status="maintenance"' in html
    # It answers again: up, while its incident waits for Alertmanager to resolve it.
    assert f'data-server-id="{outage.id}" data-status="up"' in html
    assert _tile_ids(html) == [patched.id, outage.id]
    assert re.search(r'data-count="maintenance">1<', html) and re.search(r'data-count="down">0<', html)
    assert re.search(r'data-count="up">1<', html)
    assert _tile_ids(client.get("/dashboard?status=down").get_data(as_text=True)) == []
    assert _tile_ids(client.get("/dashboard?status=up").get_data(as_text=True)) == [outage.id]


def test_a_label_window_does_not_hide_servers_without_that_label(client):
    sign_in(client)
    bare = make_server("bare")
    _set_status(bare, "down", reason="refused")
    db.session.add(MaintenanceWindow(label_key="environment", label_value="staging", reason="patching",
                                     starts_at=utcnow() - timedelta(minutes=5),
                                     ends_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    html = client.get("/dashboard?status=down").get_data(as_text=True)
    assert _tile_ids(html) == [bare.id]


def test_filtering_by_environment_narrows_tiles_and_counts(client):
    sign_in(client)
    prod = make_server("prod-web", environment="production")
    make_server("test-web", environment="testing")
    html = client.get("/dashboard?environment=production").get_data(as_text=True)
    assert _tile_ids(html) == [prod.id]
    assert re.search(r'data-count="unknown">1<', html)


def test_a_bad_filter_is_reported_not_fatal(client):
    sign_in(client)
    make_server("web-1")
    response = client.get("/dashboard?status=exploded")
    assert response.status_code == 200
    assert "Filters ignored" in response.get_data(as_text=True)
    assert len(_tile_ids(response.get_data(as_text=True))) == 1


def test_large_fleets_are_paged_with_problems_on_the_first_page(client):
    sign_in(client)
    servers = [make_server(f"node-{n:03d}") for n in range(DASHBOARD_PAGE_SIZE + 5)]
    for server in servers[:-1]:
        server.state.status = "up"
    servers[-1].state.status = "down"
    db.session.commit()
    first = client.get("/dashboard").get_data(as_text=True)
    ids = _tile_ids(first)
    assert len(ids) == DASHBOARD_PAGE_SIZE
    assert ids[0] == servers[-1].id
    assert "page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/dashboard?page=2").get_data(as_text=True)
    assert len(_tile_ids(second)) == 5


def test_paused_servers_are_left_out_and_counted(client):
    sign_in(client)
    make_server("paused-1", enabled=False)
    make_server("live-1")
    html = client.get("/dashboard").get_data(as_text=True)
    assert len(_tile_ids(html)) == 1
    assert "1 paused server not shown" in html


def test_names_typed_by_users_are_escaped(client):
    sign_in(client)
    make_server("evil", description="<script>alert(1)</script>",
                labels={"note": "<b>x</b>"}, environment="<img src=x>")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "<img src=x>" not in html
    assert "&lt;img src=x&gt;" in html


def test_tiles_carry_a_24h_uptime_gauge_and_a_sparkline_holder(client):
    sign_in(client, "customer_engagement")
    steady, shaky, new = make_server("steady"), make_server("shaky"), make_server("new")
    fair = make_server("fair")
    for server in (steady, shaky, fair):  # watched for days: their figures cover 24 h
        server.created_at = utcnow() - timedelta(days=3)
    db.session.commit()
    get_redis().hset(UPTIME_KEY, mapping={steady.id: 99.9, shaky.id: 98.25, fair.id: 99.0})
    html = client.get("/dashboard").get_data(as_text=True)
    found = re.findall(r'<svg class="uptime-gauge (gauge-\w+)"[^>]*data-uptime-gauge="(\d+)"', html)
    gauges = {server_id: grade for grade, server_id in found}
    assert gauges == {str(steady.id): "gauge-good", str(shaky.id): "gauge-bad",
                      str(fair.id): "gauge-warn", str(new.id): "gauge-none"}
    assert 'data-uptime-bands="99.9 99.0"' in html  # the same bands for charts.js
    assert 'aria-label="Uptime over 24 hours: 98.25 %"' in html
    assert 'stroke-dasharray="98.25 100"' in html and ">98.2%</text>" in html
    for server in (steady, shaky, new):
        assert f'data-sparkline="{server.id}"' in html
    assert "/static/charts.js" in html


def test_with_grafana_set_the_dashboard_embeds_the_status_history(client):
    sign_in(client)
    make_server()
    update_settings({"grafana_url": "https://grafana.bank.example"}, None)
    response = client.get("/dashboard")
    html = unescape(response.get_data(as_text=True))
    assert ('src="https://grafana.bank.example/d-solo/servermon-overview?orgId=1&panelId=5'
            '&from=now-24h&to=now&theme=light"') in html
    assert "frame-src 'self' https://grafana.bank.example;" in response.headers["Content-Security-Policy"]
    # The address is a setting: whatever it frames may not navigate the portal's tab.
    frames = re.findall(r"<iframe[^>]*>", html)
    assert len(frames) == 1 and 'sandbox="allow-scripts allow-same-origin"' in frames[0]


def test_tiles_are_reused_for_seconds_but_registry_changes_show_at_once(client):
    sign_in(client)
    first = make_server("first")
    assert 'gauge-none" viewBox' in client.get("/dashboard").get_data(as_text=True)
    get_redis().hset(UPTIME_KEY, mapping={first.id: 100.0})
    reused = client.get("/dashboard").get_data(as_text=True)
    assert 'gauge-none" viewBox' in reused  # the same tiles, rendered under TILES_TTL_S ago
    make_server("second")  # a registry change renders them again, with the new figure too
    fresh = client.get("/dashboard").get_data(as_text=True)
    assert _tile_ids(fresh) == sorted(_tile_ids(fresh)) and len(_tile_ids(fresh)) == 2
    assert 'gauge-good" viewBox' in fresh


def test_old_tiles_are_rendered_again_on_a_thread_of_their_own(client, monkeypatch):
    monkeypatch.setattr(dashboard, "TILES_TTL_S", 0.0)  # always old
    sign_in(client)
    server = make_server("steady")
    assert 'gauge-none" viewBox' in client.get("/dashboard").get_data(as_text=True)
    get_redis().hset(UPTIME_KEY, mapping={server.id: 100.0})
    assert 'gauge-none" viewBox' in client.get("/dashboard").get_data(as_text=True)  # stale, once
    wait_for(lambda: 'gauge-good" viewBox' in client.get("/dashboard").get_data(as_text=True),
             timeout=5, what="the tiles rendered again in the background")
    html = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/servers/{server.id}"' in html  # links built in the background context
