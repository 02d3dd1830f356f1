"""The Alerts page: incidents, filters, the linked incident, acknowledgement and deliveries."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.pages.alerts import PAST_PAGE_SIZE
from portal.notify.models import Notification
from portal.rbac import ROLES
from portal.settings.service import update_settings
from tests.factories import make_incident, make_server, record_state
from tests.support.pages import post_form, sign_in

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def make_delivery(incident, status, channel="email", recipient="ops@bank.example", **fields):
    row = Notification(incident_id=incident.id, state="firing", channel=channel, recipient=recipient,
                       subject="s", body="b", status=status, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def _row_ids(html: str, table: str) -> list[int]:
    section = html.split(f'data-testid="{table}"', 1)[1].split("</table>", 1)[0]
    return [int(found) for found in re.findall(r'<tr id="incident-(\d+)"', section)]


# --- who may see what -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/alerts", "/maintenance"])
def test_signed_out_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and f"/login?next={path}" in response.location


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_alerts_and_maintenance_pages(client, role):
    sign_in(client, role)
    incident = make_incident(make_server("web-1"), T0)
    html = client.get("/alerts").get_data(as_text=True)
    assert f'id="incident-{incident.id}"' in html
    assert client.get("/maintenance").status_code == 200


def test_with_no_incidents_the_page_says_so_and_points_at_the_dashboard(client):
    sign_in(client, "customer_engagement")
    html = client.get("/alerts").get_data(as_text=True)
    assert "No incidents recorded yet" in html and 'href="/dashboard"' in html


def test_the_sidebar_links_the_maintenance_page(client):
    sign_in(client, "flexipay_support")
    html = client.get("/alerts").get_data(as_text=True)
    assert 'href="/maintenance"' in html and 'href="/settings"' not in html


# --- the list -------------------------------------------------------------------------

def test_open_incidents_come_first_then_past_ones_newest_first(client):
    sign_in(client)
    web, db_server = make_server("web-1"), make_server("db-1")
    old = make_incident(web, T0, T0 + timedelta(minutes=90), reason="connection refused")
    newer = make_incident(db_server, T0 + timedelta(days=1), T0 + timedelta(days=1, seconds=75),
                          name="ServerSlow", severity="warning", in_maintenance=True)
    ongoing = make_incident(db_server, T0 - timedelta(days=3), reason="timed out after 10 s")
    html = client.get("/alerts").get_data(as_text=True)
    assert _row_ids(html, "open-incidents") == [ongoing.id]
    assert _row_ids(html, "past-incidents") == [newer.id, old.id]
    assert f'href="/servers/{web.id}">web-1</a>' in html
    assert "connection refused" in html and "timed out after 10 s" in html
    assert "lasted 1 h 30 min" in html and "lasted 1 min 15 s" in html
    assert "Ongoing" in html and 'data-testid="in-maintenance"' in html
    assert "text-bg-danger text-uppercase\">critical" in html
    assert "text-bg-warning text-uppercase\">warning" in html


def test_times_are_shown_in_the_configured_time_zone(client):
    sign_in(client)
    make_incident(make_server(), T0, T0 + timedelta(minutes=5))
    html = client.get("/alerts").get_data(as_text=True)
    assert "2026-11-01 11:00" in html and "2026-11-01 11:05" in html  # Kampala is UTC+3


def test_filters_narrow_by_server_state_severity_and_alert(client):
    sign_in(client)
    a, b = make_server("a"), make_server("b")
    a_open = make_incident(a, T0)
    a_past = make_incident(a, T0 - timedelta(days=1), T0 - timedelta(hours=20))
    b_warning = make_incident(b, T0 - timedelta(days=2), T0 - timedelta(days=2) + timedelta(minutes=1),
                              name="CertificateExpiring", severity="warning")

    def shown(query):
        response = client.get(f"/alerts?{query}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return {incident_id for table in ("open-incidents", "past-incidents")
                if f'data-testid="{table}"' in html for incident_id in _row_ids(html, table)}

    assert shown(f"server={a.id}") == {a_open.id, a_past.id}
    assert shown("state=resolved") == {a_past.id, b_warning.id}
    assert shown("state=open") == {a_open.id}
    assert shown("severity=warning") == {b_warning.id}
    assert shown("alertname=CertificateExpiring") == {b_warning.id}


def test_a_digest_link_shows_the_incidents_its_message_told_of(client):
    """``?message=`` is the first outbox row of a storm digest; the others name it."""
    sign_in(client)
    servers = [make_server(f"cbs-{n}") for n in range(4)]
    told = [make_incident(server, T0) for server in servers[:3]]
    first = make_delivery(told[0], "sent")
    first.sent_in = first.id
    for incident in told[1:]:
        make_delivery(incident, "sent", sent_in=first.id)
    make_incident(servers[3], T0)
    response = client.get(f"/alerts?message={first.id}")
    html = response.get_data(as_text=True)
    assert set(_row_ids(html, "open-incidents")) == {incident.id for incident in told}
    assert 'data-testid="message-filter"' in html
    assert f'<input type="hidden" name="message" value="{first.id}">' in html
    response = client.get("/alerts?message=twelve")
    assert response.status_code == 400 and 'data-testid="message-filter"' in response.get_data(
        as_text=True)


def test_dates_are_days_in_the_configured_time_zone(client):
    sign_in(client)
    update_settings({"timezone": "Africa/Nairobi"}, None)  # UTC+3
    late = datetime(2026, 11, 1, 22, 30, tzinfo=UTC)  # already 2 November in Nairobi
    incident = make_incident(make_server(), late, late + timedelta(minutes=10))
    on_the_2nd = client.get("/alerts?from=2026-11-02&to=2026-11-02").get_data(as_text=True)
    assert _row_ids(on_the_2nd, "past-incidents") == [incident.id]
    on_the_1st = client.get("/alerts?from=2026-11-01&to=2026-11-01").get_data(as_text=True)
    assert _row_ids(on_the_1st, "past-incidents") == [] and "No past incidents match" in on_the_1st


def test_a_bad_filter_is_a_field_error_and_is_ignored(client):
    sign_in(client)
    incident = make_incident(make_server(), T0, T0 + timedelta(minutes=1))
    response = client.get("/alerts?from=yesterday&state=maybe")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="from"' in html and "YYYY-MM-DD" in html
    assert 'data-field-error="state"' in html
    assert _row_ids(html, "past-incidents") == [incident.id]


def test_past_incidents_are_paged(client):
    sign_in(client)
    server = make_server()
    for n in range(PAST_PAGE_SIZE + 3):
        start = T0 - timedelta(hours=n)
        make_incident(server, start, start + timedelta(minutes=1))
    first = client.get("/alerts").get_data(as_text=True)
    assert len(_row_ids(first, "past-incidents")) == PAST_PAGE_SIZE and 'rel="next"' in first
    second = client.get("/alerts?page=2").get_data(as_text=True)
    assert len(_row_ids(second, "past-incidents")) == 3


def test_text_from_alerts_is_escaped(client):
    sign_in(client)
    make_incident(make_server(), T0, reason="<script>alert(1)</script>", summary="<b>bold</b>")
    html = client.get("/alerts").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html


# --- the incident an e-mail or SMS links to ----------------------------------------------

def test_the_linked_incident_is_highlighted_in_place(client):
    sign_in(client)
    incident = make_incident(make_server(), T0)
    html = client.get(f"/alerts?incident={incident.id}").get_data(as_text=True)
    assert re.search(rf'<tr id="incident-{incident.id}" class="incident-row incident-highlight"', html)
    assert "data-highlight" in html and 'data-testid="linked-incident"' not in html


def test_a_linked_incident_on_another_page_is_shown_at_the_top(client):
    sign_in(client)
    server = make_server()
    oldest = make_incident(server, T0 - timedelta(days=30), T0 - timedelta(days=30) + timedelta(minutes=1))
    for n in range(PAST_PAGE_SIZE):
        start = T0 - timedelta(hours=n)
        make_incident(server, start, start + timedelta(minutes=1))
    html = client.get(f"/alerts?incident={oldest.id}").get_data(as_text=True)
    assert _row_ids(html, "linked-incident") == [oldest.id]
    assert oldest.id not in _row_ids(html, "past-incidents")


def test_a_link_to_a_missing_incident_says_so(client):
    sign_in(client)
    make_incident(make_server(), T0)
    html = client.get("/alerts?incident=999999").get_data(as_text=True)
    assert "Incident #999999 does not exist" in html


# --- acknowledgement ----------------------------------------------------------------------

def test_acknowledging_through_the_form_records_who_when_and_the_note(client):
    user = sign_in(client, "flexipay_support")
    incident = make_incident(make_server(), T0)
    response = post_form(client, f"/alerts/{incident.id}/ack?state=open", {"note": "  calling the vendor  "})
    assert response.status_code == 302
    assert response.location.endswith(f"/alerts?state=open&incident={incident.id}#incident-{incident.id}")
    db.session.refresh(incident)
    assert incident.acknowledged_by_id == user.id and incident.acknowledged_by_name == user.username
    assert incident.ack_note == "calling the vendor"
    assert abs((utcnow() - incident.acknowledged_at).total_seconds()) < 60
    html = client.get(f"/alerts?incident={incident.id}").get_data(as_text=True)
    assert f"Incident #{incident.id} acknowledged." in html
    assert 'data-testid="acknowledged"' in html and user.username in html and "calling the vendor" in html
    assert f'data-testid="ack-form-{incident.id}"' not in html


def test_the_form_carries_the_csrf_field_and_a_post_without_it_is_refused(client):
    sign_in(client)
    incident = make_incident(make_server(), T0)
    html = client.get("/alerts").get_data(as_text=True)
    form = html.split(f'data-testid="ack-form-{incident.id}"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in form
    response = client.post(f"/alerts/{incident.id}/ack", data={"note": "x"})
    assert response.status_code == 403
    db.session.refresh(incident)
    assert incident.acknowledged_at is None


def test_acknowledging_twice_keeps_the_first_and_says_who(client):
    sign_in(client)
    incident = make_incident(make_server(), T0, acknowledged_at=T0, acknowledged_by_name="alice",
                             ack_note="mine")
    response = post_form(client, f"/alerts/{incident.id}/ack", {"note": "me too"}, follow_redirects=True)
    assert "already acknowledged by alice" in response.get_data(as_text=True)
    db.session.refresh(incident)
    assert incident.ack_note == "mine"


def test_a_too_long_note_is_a_field_error_and_nothing_is_written(client):
    sign_in(client)
    incident = make_incident(make_server(), T0)
    response = post_form(client, f"/alerts/{incident.id}/ack", {"note": "x" * 1001})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="ack-note-{incident.id}-error" data-field-error="note"' in html
    assert "x" * 1001 in html  # the form is refilled
    db.session.refresh(incident)
    assert incident.acknowledged_at is None


def test_acknowledging_a_missing_incident_is_a_404(client):
    sign_in(client)
    assert post_form(client, "/alerts/424242/ack", {"note": ""}).status_code == 404


# --- Grafana and deliveries ------------------------------------------------------------

def test_the_grafana_link_spans_an_hour_before_the_incident_to_its_end(client):
    sign_in(client)
    update_settings({"grafana_url": "https://grafana.bank.example"}, None)
    server = make_server()
    make_incident(server, T0, T0 + timedelta(minutes=30))
    html = client.get("/alerts").get_data(as_text=True)
    start_ms = int((T0 - timedelta(hours=1)).timestamp() * 1000)
    end_ms = int((T0 + timedelta(minutes=30)).timestamp() * 1000)
    assert (f"https://grafana.bank.example/d/servermon-server?var-server_id={server.id}"
            f"&amp;from={start_ms}&amp;to={end_ms}") in html


def test_an_open_incident_links_grafana_up_to_now(client):
    sign_in(client)
    update_settings({"grafana_url": "https://grafana.bank.example"}, None)
    make_incident(make_server(), T0)
    html = unescape(client.get("/alerts").get_data(as_text=True))
    to_ms = int(re.search(r"&to=(\d+)", html).group(1))
    assert abs(to_ms / 1000 - utcnow().timestamp()) < 60


def test_without_grafana_there_is_no_link(client):
    sign_in(client)
    make_incident(make_server(), T0)
    assert 'data-testid="grafana-link"' not in client.get("/alerts").get_data(as_text=True)


def test_each_incident_counts_its_deliveries_and_failures_are_listed(client):
    sign_in(client)
    incident = make_incident(make_server(), T0)
    make_delivery(incident, "sent")
    make_delivery(incident, "sent", channel="sms", recipient="+256700000001")
    make_delivery(incident, "pending", recipient="late@bank.example")
    make_delivery(incident, "failed", channel="sms", recipient="+256700000002", attempts=5,
                  last_error="HTTPError: 400 invalid number")
    html = client.get("/alerts").get_data(as_text=True)
    row = html.split(f'id="incident-{incident.id}"', 1)[1].split("</tr>", 1)[0]
    assert "2 sent" in row and "1 pending" in row and "1 failed" in row
    panel = html.split('data-testid="delivery-failures"', 1)[1].split("</section>", 1)[0]
    assert "+256700000002" in panel and "HTTPError: 400 invalid number" in panel
    assert ">SMS<" in panel and ">5<" in panel and f"/alerts?incident={incident.id}" in panel
    assert "late@bank.example" not in panel


def test_without_failures_there_is_no_failure_panel(client):
    sign_in(client)
    make_delivery(make_incident(make_server(), T0), "sent")
    assert 'data-testid="delivery-failures"' not in client.get("/alerts").get_data(as_text=True)


# --- one story with the dashboard: down before the incident opens, up before it closes ------

def _opening(html: str) -> str:
    if 'data-testid="opening"' not in html:
        return ""
    return html.split('data-testid="opening"', 1)[1].split("</ul>", 1)[0]


def test_a_server_down_without_its_incident_yet_is_listed_as_opening(client):
    sign_in(client, "it_staff")
    update_settings({"timezone": "Africa/Nairobi"}, None)
    down, other = make_server("core-db"), make_server("web-1")
    at = datetime(2026, 11, 28, 11, 2, 5, tzinfo=UTC)
    record_state(down, "down", at, reason="connection refused")
    record_state(other, "up", at)
    html = client.get("/alerts").get_data(as_text=True)
    opening = _opening(html)
    assert "core-db" in opening and "web-1" not in opening
    assert "Down since <time" in opening and "2026-11-28 14:02:05 EAT</time>, incident opening" in opening
    assert "connection refused" in opening
    # Filters that cannot mean this outage leave it out; the server's own keeps it.
    assert _opening(client.get(f"/alerts?server={down.id}").get_data(as_text=True))
    for query in ("alertname=CertExpiring", "severity=warning", "state=resolved", "from=2026-11-01"):
        assert "core-db" not in _opening(client.get(f"/alerts?{query}").get_data(as_text=True)), query
    # Once Alertmanager opened the incident, the incident tells it.
    make_incident(down, at)
    html = client.get("/alerts").get_data(as_text=True)
    assert "core-db" not in _opening(html) and _row_ids(html, "open-incidents")


def test_an_open_outage_whose_server_is_back_reads_recovered_and_closing(client):
    sign_in(client, "it_staff")
    update_settings({"timezone": "Africa/Nairobi"}, None)
    server = make_server("core-db")
    start = datetime(2026, 11, 28, 11, 2, 5, tzinfo=UTC)
    record_state(server, "down", start)
    make_incident(server, start)
    record_state(server, "up", start + timedelta(minutes=3, seconds=5))
    html = client.get("/alerts").get_data(as_text=True)
    assert "Recovered at <time" in html and "2026-11-28 14:05:10 EAT</time>, incident closing" in html
    assert "2026-11-28 14:02:05 EAT" in html  # the start, with seconds
    assert "core-db" not in _opening(html)
