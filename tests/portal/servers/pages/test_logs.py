"""The Logs page: every server's state changes, filtered and paged, for Server Logs only."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from portal.rbac import ROLES, has_permission
from portal.servers.pages.logs import PAGE_SIZE
from portal.settings.service import update_settings
from tests.factories import PASSWORD, make_server, make_user, record_state
from tests.support.live_server import serving
from tests.support.pages import sign_in

T0 = datetime(2026, 11, 1, 21, 30, tzinfo=UTC)  # 2026-11-02 00:30 in Kampala (UTC+3)


def rows(html: str) -> list[tuple[str, str]]:
    """(server name, new status) per line of the log, top to bottom."""
    return re.findall(r'data-status="(\w+)">.*?<a href="/servers/\d+">([^<]+)</a>', html, re.S)


@pytest.mark.parametrize("role", list(ROLES))
def test_only_server_logs_roles_see_the_page_and_its_link(client, role):
    sign_in(client, role)
    allowed = has_permission(role, "logs.view")
    assert client.get("/logs").status_code == (200 if allowed else 403)
    assert ('href="/logs"' in client.get("/alerts").get_data(as_text=True)) is allowed


def test_changes_of_every_server_newest_first_with_reasons_escaped(client):
    sign_in(client, "it_staff")
    cbs, atm = make_server("core-banking"), make_server("atm-switch")
    record_state(cbs, "down", T0, reason="<script>alert(1)</script>")
    record_state(atm, "down", T0 + timedelta(minutes=1), reason="connection refused")
    record_state(cbs, "up", T0 + timedelta(minutes=5))
    html = client.get("/logs").get_data(as_text=True)
    assert rows(html) == [("up", "core-banking"), ("down", "atm-switch"), ("down", "core-banking")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "2026-11-02 00:35:00" in html  # in the configured zone (Africa/Kampala by default)
    assert "3 changes." in html


def test_filters_by_server_change_and_local_days(client):
    sign_in(client, "developer")
    cbs, atm = make_server("core-banking"), make_server("atm-switch")
    record_state(cbs, "down", T0)  # 2 Nov, local
    record_state(cbs, "up", T0 - timedelta(hours=1))  # 1 Nov 23:30, local
    record_state(atm, "down", T0 + timedelta(days=1))  # 3 Nov
    only = client.get(f"/logs?server={cbs.id}").get_data(as_text=True)
    assert [name for _, name in rows(only)] == ["core-banking", "core-banking"]
    downs = client.get("/logs?status=down").get_data(as_text=True)
    assert rows(downs) == [("down", "atm-switch"), ("down", "core-banking")]
    one_day = client.get("/logs?from=2026-11-02&to=2026-11-02").get_data(as_text=True)
    assert rows(one_day) == [("down", "core-banking")]


def test_days_are_those_of_the_configured_zone(client):
    update_settings({"timezone": "UTC"}, None)
    sign_in(client)
    cbs, atm = make_server("core-banking"), make_server("atm-switch")
    record_state(cbs, "down", T0)  # 1 Nov in UTC, 2 Nov in Kampala
    record_state(atm, "down", T0 + timedelta(days=1))
    one_day = client.get("/logs?from=2026-11-02&to=2026-11-02").get_data(as_text=True)
    assert rows(one_day) == [("down", "atm-switch")]
    assert "Dates are days in UTC" in one_day


def test_a_bad_filter_is_shown_beside_its_field_and_the_rest_still_applies(client):
    sign_in(client, "ebanking_support")
    server = make_server("core-banking")
    record_state(server, "down", T0)
    record_state(server, "up", T0 + timedelta(minutes=2))
    response = client.get("/logs?from=yesterday&status=down&server=x")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-field-error="from">enter a date as YYYY-MM-DD, not “yesterday”' in html
    assert 'value="yesterday"' not in html  # a date input cannot hold it; the message says it
    assert 'data-field-error="server">choose a server from the list' in html
    assert rows(html) == [("down", "core-banking")]
    backwards = client.get("/logs?from=2026-11-05&to=2026-11-01").get_data(as_text=True)
    assert 'data-field-error="to">must not be before the start date' in backwards


def test_pages_keep_the_filters(client):
    sign_in(client)
    server = make_server("core-banking")
    for minute in range(PAGE_SIZE + 1):
        record_state(server, "down" if minute % 2 else "up", T0 + timedelta(minutes=minute))
    first = client.get(f"/logs?server={server.id}").get_data(as_text=True)
    assert len(rows(first)) == PAGE_SIZE
    assert f'href="/logs?server={server.id}&amp;page=2"' in first
    second = client.get(f"/logs?server={server.id}&page=2").get_data(as_text=True)
    assert len(rows(second)) == 1 and "2026-11-02 00:30:00" in second  # the oldest
    assert rows(client.get(f"/logs?server={server.id}&page=9").get_data(as_text=True)) == rows(second)


def test_empty_states_say_what_to_do(client):
    sign_in(client)
    assert "No state changes recorded yet" in client.get("/logs").get_data(as_text=True)
    record_state(make_server("core-banking"), "down", T0)
    assert "No state changes match these filters" in client.get(
        "/logs?status=up").get_data(as_text=True)


def test_the_filtered_log_downloads_as_csv_oldest_first_and_neutralised(client):
    sign_in(client, "it_staff")
    cbs = make_server("core-banking")
    atm = make_server("=HYPERLINK(1)", target="https://atm.bank.example/")
    record_state(cbs, "down", T0, reason="=cmd|' /C calc'!A0")
    record_state(atm, "down", T0 + timedelta(minutes=1))
    record_state(cbs, "up", T0 + timedelta(minutes=5))
    page = client.get("/logs?status=down").get_data(as_text=True)
    assert 'href="/logs.csv?status=down"' in page
    response = client.get("/logs.csv?status=down")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="servermon-log.csv"'
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["at", "server_id", "server", "previous", "status", "reason", "latency_ms",
                        "last_ok_at"]
    assert lines[1] == ["2026-11-02T00:30:00+03:00", str(cbs.id), "core-banking", "up", "down",
                        "'=cmd|' /C calc'!A0", "12.5", "2026-11-02T00:29:30+03:00"]
    assert lines[2][1:3] == [str(atm.id), "'=HYPERLINK(1)"]
    assert len(lines) == 3


def test_the_csv_needs_server_logs(client):
    sign_in(client, "customer_engagement")
    assert client.get("/logs.csv").status_code == 403


def test_the_csv_streams_over_a_real_server(app):
    """Served for real, the response outlives the view: the rows stream after the request's
    own work (its session's commit) is done. A 500 ("identity map is no longer valid")
    whenever the filter matched rows, with SQLAlchemy 2.1."""
    user = make_user("it_staff")
    cbs = make_server("core-banking")
    for minute in range(30):
        record_state(cbs, "down" if minute % 2 else "up", T0 + timedelta(minutes=minute))
    with serving(app) as address:
        session = requests.Session()
        login = session.post(f"http://{address}/api/auth/login",
                             json={"username": user.username, "password": PASSWORD})
        assert login.status_code == 200
        response = session.get(f"http://{address}/logs.csv?status=down")
        assert response.status_code == 200, response.text[:500]
        lines = list(csv.reader(io.StringIO(response.text)))
    assert len(lines) == 1 + 15 and all(line[4] == "down" for line in lines[1:])
