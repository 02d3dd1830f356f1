"""A server's page: settings, status, recent incidents, the log, charts and Grafana panels."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from portal.settings.service import update_settings
from tests.factories import make_incident, make_server, record_state
from tests.support.pages import sign_in

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_the_detail_page_shows_every_setting_and_status(client):
    sign_in(client)
    server = make_server("dns-1", kind="dns", dns_record_type="MX", dns_expected="mail.bank.example",
                         labels={"team": "infra"}, description="Mail exchanger")
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    for text in ("dns-1", "MX", "mail.bank.example", "team=infra", "Mail exchanger", "every 30 s"):
        assert text in html, text
    status_card = html.split('id="status-heading"', 1)[1].split("</section>", 1)[0]
    assert "Unknown" in status_card  # not the live templates'


def test_a_missing_server_is_a_404_page(client):
    sign_in(client)
    assert client.get("/servers/999").status_code == 404


def test_the_detail_page_lists_recent_incidents_and_the_state_log(client):
    sign_in(client, "it_staff")
    server = make_server("core-banking")
    make_incident(server, T0, T0 + timedelta(minutes=7), reason="connection refused")
    newest = make_incident(server, T0 + timedelta(days=1), reason="status 503")
    make_incident(make_server("other"), T0, reason="not this server")
    record_state(server, "down", T0, reason="<script>alert(1)</script>")
    record_state(server, "up", T0 + timedelta(minutes=7))
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    incidents = html.split('data-testid="recent-incidents"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'data-incident-id="(\d+)"', incidents)[0] == str(newest.id)
    assert f"/alerts?incident={newest.id}" in incidents and "ongoing" in incidents
    assert "7 min" in incidents and "not this server" not in incidents
    log = html.split('data-testid="server-log"', 1)[1].split("</section>", 1)[0]
    assert log.count("<tr>") == 3  # the header and two changes
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in log and "<script>alert" not in html
    assert f'href="/logs?server={server.id}"' in log


def test_viewers_without_log_access_see_incidents_but_not_the_log(client):
    sign_in(client, "customer_engagement")
    server = make_server()
    record_state(server, "down", T0, reason="timeout")
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    assert 'data-testid="recent-incidents"' in html and "No incidents recorded" in html
    assert 'data-testid="server-log"' not in html


def test_the_detail_page_has_history_charts_for_every_range(client):
    sign_in(client, "flexipay_support")
    server = make_server()
    response = client.get(f"/servers/{server.id}")
    html = response.get_data(as_text=True)
    assert f'data-charts="{server.id}"' in html
    for name in ("1h", "24h", "7d", "30d"):
        assert f'data-availability="{name}"' in html and f'value="{name}"' in html
    assert 'data-chart="latency"' in html and 'data-chart="status"' in html
    assert "/static/charts.js" in html and "/static/vendor/uPlot.iife.min.js" in html
    assert "frame-src 'self';" in response.headers["Content-Security-Policy"]
    assert 'data-testid="grafana"' not in html  # no Grafana configured


def test_with_grafana_set_the_detail_page_embeds_its_panels(client):
    sign_in(client, "it_staff")
    update_settings({"grafana_url": "https://portal.bank.example/grafana"}, None)
    server = make_server()
    response = client.get(f"/servers/{server.id}")
    html = unescape(response.get_data(as_text=True))
    for panel in (5, 6):
        assert (f'src="https://portal.bank.example/grafana/d-solo/servermon-server?orgId=1&panelId={panel}'
                f'&var-server_id={server.id}&from=now-24h&to=now&theme=light"') in html
    assert f"https://portal.bank.example/grafana/d/servermon-server?var-server_id={server.id}" in html
    policy = response.headers["Content-Security-Policy"]
    assert "frame-src 'self' https://portal.bank.example;" in policy
    assert "frame-ancestors 'none'" in policy
    frames = re.findall(r"<iframe[^>]*>", html)
    assert len(frames) == 2 and all('sandbox="allow-scripts allow-same-origin"' in f for f in frames)


def test_the_server_page_adds_lists_and_removes_contacts_with_their_tier(client):
    from portal.notify.contacts import server_contacts
    from tests.support.pages import post_form

    server = make_server("ledger-db")
    sign_in(client, "it_staff")
    assert 'data-testid="no-contacts"' in client.get(f"/servers/{server.id}").get_data(as_text=True)
    response = post_form(client, f"/servers/{server.id}/contacts", {
        "name": "DBA on call", "phone": "+256700000022", "tier": "2"})
    assert response.status_code == 302
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    section = html.split('data-testid="contacts"', 1)[1].split("</section>", 1)[0]
    assert "DBA on call" in section and "tier 2" in section and "+256700000022" in section
    bad = post_form(client, f"/servers/{server.id}/contacts", {"name": "nobody"})
    assert "The contact was not added: email give an e-mail address, a phone number, or both." \
        in client.get(bad.location).get_data(as_text=True)
    [contact] = server_contacts(server.id)
    assert post_form(client, f"/servers/{server.id}/contacts/{contact.id}/delete").status_code == 302
    assert server_contacts(server.id) == []


def test_roles_without_logs_view_see_no_contacts(client):
    server = make_server()
    sign_in(client, "customer_engagement")
    assert 'data-testid="contacts"' not in client.get(f"/servers/{server.id}").get_data(as_text=True)
