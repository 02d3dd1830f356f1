"""Server pages: list with filters, detail, and the add/edit/delete forms."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from sqlalchemy import func, select

from portal.extensions import db
from portal.servers.models import Server
from portal.settings.service import update_settings
from tests.factories import make_incident, make_server, record_state
from tests.portal.web import csrf, post_form, sign_in


def _form(**overrides):
    """A complete add-server form, as a browser posts it (checked boxes only)."""
    data = {
        "name": "core-banking", "kind": "http", "target": "https://core.bank.example/health",
        "interval_s": "30", "timeout_s": "10", "enabled": "on", "confirm_down": "on",
        "environment": "production", "group": "core", "description": "Main ledger",
        "labels": "team=payments\nsite=kampala", "owner_id": "",
        "http_method": "GET", "http_accepted_statuses": "200-299", "http_keyword": "",
        "http_keyword_mode": "contains", "http_max_latency_ms": "", "http_follow_redirects": "on",
        "tls_verify": "on", "dns_record_type": "A", "dns_expected": "", "dns_resolver": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _count() -> int:
    return db.session.scalar(select(func.count(Server.id)))


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/servers", "/servers/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


def test_the_list_shows_servers_and_filters_them(client):
    sign_in(client, "flexipay_support")
    make_server("pay-api", labels={"team": "payments"}, environment="production")
    make_server("ledger-db", kind="tcp", environment="production")
    response = client.get("/servers")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "pay-api" in html and "ledger-db" in html
    filtered = client.get("/servers?label=team%3Dpayments&kind=").get_data(as_text=True)
    assert "pay-api" in filtered and "ledger-db" not in filtered
    by_kind = client.get("/servers?kind=tcp&name=&status=").get_data(as_text=True)
    assert "ledger-db" in by_kind and "pay-api" not in by_kind
    by_name = client.get("/servers?name=LEDGER").get_data(as_text=True)
    assert "ledger-db" in by_name and "pay-api" not in by_name


def test_the_list_pages_through_many_servers(client):
    sign_in(client)
    for n in range(12):
        make_server(f"srv-{n:02d}")
    html = client.get("/servers?per_page=5&page=3").get_data(as_text=True)
    assert "srv-10" in html and "srv-11" in html and "srv-09" not in html
    assert "page 3 of 3" in html


def test_viewers_see_no_management_buttons(client):
    sign_in(client, "customer_engagement")
    server = make_server("web-1")
    assert "/servers/new" not in client.get("/servers").get_data(as_text=True)
    detail = client.get(f"/servers/{server.id}").get_data(as_text=True)
    assert "web-1" in detail
    assert f"/servers/{server.id}/edit" not in detail and f"/servers/{server.id}/delete" not in detail


def test_viewers_are_refused_the_forms(client):
    sign_in(client, "customer_engagement")
    server = make_server("web-1")
    for path in ("/servers/new", f"/servers/{server.id}/edit", f"/servers/{server.id}/delete"):
        response = client.get(path)
        assert response.status_code == 403
        assert "servers.manage" in response.get_data(as_text=True)
    assert post_form(client, "/servers/new", _form()).status_code == 403
    assert _count() == 1


def test_the_detail_page_shows_every_setting_and_status(client):
    sign_in(client)
    server = make_server("dns-1", kind="dns", dns_record_type="MX", dns_expected="mail.bank.example",
                         labels={"team": "infra"}, description="Mail exchanger")
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    for text in ("dns-1", "MX", "mail.bank.example", "team=infra", "Mail exchanger", "Unknown",
                 "every 30 s"):
        assert text in html, text


def test_a_missing_server_is_a_404_page(client):
    sign_in(client)
    assert client.get("/servers/999").status_code == 404


def test_the_add_form_is_prefilled_from_the_probe_defaults(client):
    user = sign_in(client)
    update_settings({"probe_interval_s": 120, "probe_timeout_s": 7}, user)
    html = client.get("/servers/new").get_data(as_text=True)
    assert re.search(r'name="interval_s"[^>]*value="120"', html)
    assert re.search(r'name="timeout_s"[^>]*value="7"', html)
    assert f'name="csrf_token" value="{csrf(client)}"' in html


def test_adding_a_server_through_the_form(client):
    user = sign_in(client, "ebanking_support")
    response = post_form(client, "/servers/new", _form())
    assert response.status_code == 302
    server = db.session.scalar(select(Server).where(Server.name == "core-banking"))
    assert response.location.endswith(f"/servers/{server.id}")
    assert server.label_map == {"team": "payments", "site": "kampala"}
    assert server.environment == "production" and server.group_name == "core"
    assert server.owner_id == user.id
    assert server.enabled and server.tls_verify and not server.http_keyword_regex
    assert server.http_max_latency_ms is None and server.http_keyword is None
    assert "Server core-banking added." in client.get(response.location).get_data(as_text=True)


def test_unchecked_boxes_save_as_false(client):
    sign_in(client)
    post_form(client, "/servers/new", _form(enabled=None, confirm_down=None, tls_verify=None))
    server = db.session.scalar(select(Server))
    assert not server.enabled and not server.confirm_down and not server.tls_verify


def test_a_tcp_target_without_port_is_a_field_error_and_nothing_is_written(client):
    sign_in(client)
    response = post_form(client, "/servers/new", _form(kind="tcp", target="db1.bank.example"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="target"' in html
    assert "must be host:port" in html
    assert 'value="db1.bank.example"' in html  # the user's input is kept
    assert 'value="tcp" selected' in html
    assert "team=payments\nsite=kampala</textarea>" in html
    assert _count() == 0


def test_a_malformed_label_line_is_an_error_on_labels(client):
    sign_in(client)
    response = post_form(client, "/servers/new", _form(labels="team=payments\njust-text"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="labels"' in html and "line 2" in html
    assert _count() == 0


def test_several_errors_show_at_once(client):
    sign_in(client)
    response = post_form(client, "/servers/new",
                         _form(name="", interval_s="often", labels="oops"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("name", "interval_s", "labels"):
        assert f'data-field-error="{field}"' in html, field


def test_a_duplicate_name_is_an_error_on_name(client):
    sign_in(client)
    make_server("core-banking")
    response = post_form(client, "/servers/new", _form(name="Core-Banking"))
    assert response.status_code == 409
    assert 'data-field-error="name"' in response.get_data(as_text=True)
    assert _count() == 1


def test_a_post_without_the_csrf_field_is_refused(client):
    sign_in(client)
    response = client.post("/servers/new", data=_form())
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)
    wrong = client.post("/servers/new", data={**_form(), "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert _count() == 0


def test_editing_a_server_through_the_form(client):
    sign_in(client)
    server = make_server("web-1", labels={"old": "label"})
    form_page = client.get(f"/servers/{server.id}/edit").get_data(as_text=True)
    assert "old=label</textarea>" in form_page
    response = post_form(client, f"/servers/{server.id}/edit",
                         _form(name="web-renamed", kind="icmp", target="10.0.0.7", labels=""))
    assert response.status_code == 302
    db.session.refresh(server)
    assert (server.name, server.kind, server.target) == ("web-renamed", "icmp", "10.0.0.7")
    assert server.label_map == {}


def test_a_bad_edit_leaves_the_server_unchanged(client):
    sign_in(client)
    server = make_server("web-1")
    response = post_form(client, f"/servers/{server.id}/edit", _form(name="web-1", timeout_s="45"))
    assert response.status_code == 400
    assert 'data-field-error="timeout_s"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Server, server.id).timeout_s == 10


def test_deleting_asks_first_then_deletes_on_post(client):
    sign_in(client)
    server = make_server("old-box")
    confirm = client.get(f"/servers/{server.id}/delete")
    assert confirm.status_code == 200
    assert "Delete old-box?" in confirm.get_data(as_text=True)
    assert _count() == 1
    response = post_form(client, f"/servers/{server.id}/delete")
    assert response.status_code == 302 and response.location.endswith("/servers")
    assert _count() == 0


def test_deleting_without_csrf_is_refused(client):
    sign_in(client)
    server = make_server("old-box")
    assert client.post(f"/servers/{server.id}/delete").status_code == 403
    assert _count() == 1


# --- history on the detail page -----------------------------------------------------------

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


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
