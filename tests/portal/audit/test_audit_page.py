"""The Audit page: for Admin Dashboard roles, filtered by local days, escaped, with a CSV
link that keeps its filters."""

import csv
import html as htmllib
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import delete

from portal.audit.models import AuditEvent
from portal.audit.service import Target
from portal.extensions import db
from portal.rbac import ROLES, has_permission
from tests.factories import make_user
from tests.portal.audit.dated import add_event
from tests.support.pages import sign_in

T0 = datetime(2026, 11, 1, 21, 30, tzinfo=UTC)  # 2026-11-02 00:30 in Kampala (UTC+3)


def rows(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-event-id="(\d+)"', page)]


def csv_link(page: str) -> str:
    found = re.search(r'href="([^"]+)" data-testid="audit-csv"', page)
    assert found, "no CSV link"
    return htmllib.unescape(found.group(1))


@pytest.mark.parametrize("role", list(ROLES))
def test_only_admin_view_roles_see_the_page_and_its_link(client, role):
    sign_in(client, role)
    allowed = has_permission(role, "admin.view")
    assert client.get("/admin/audit").status_code == (200 if allowed else 403)
    assert ('href="/admin/audit"' in client.get("/alerts").get_data(as_text=True)) is allowed


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/audit?action=auth.")
    assert response.status_code == 302
    assert "/login?next=/admin/audit" in response.location


def test_rows_show_who_what_and_the_change_newest_first_and_escaped(client):
    sign_in(client, "it_staff")
    actor = make_user("admin", username="auditor")
    created = add_event("test.created", at=T0, actor=actor,
                        target=Target("server", 7, "<script>alert(1)</script>"),
                        after={"name": "cbs", "interval_s": 30})
    updated = add_event("test.updated", at=T0 + timedelta(minutes=5), actor=actor,
                        target=Target("server", 7, "cbs"),
                        before={"interval_s": 30}, after={"interval_s": 60})
    page = client.get("/admin/audit?action=test.").get_data(as_text=True)
    assert "<title>Audit · servermon</title>" in page
    assert rows(page) == [updated.id, created.id]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "2026-11-02 00:35:00" in page  # in the configured zone (Africa/Kampala by default)
    assert "auditor" in page and "<code>test.updated</code>" in page
    assert re.search(r"<code>interval_s</code>:\s*30 <i class=\"bi bi-arrow-right\"", page)
    assert "2 events match." in page


def test_filters_narrow_by_actor_action_target_and_local_days(client):
    sign_in(client)
    alice = make_user("it_staff", username="alice")
    by_alice = add_event("test.one", at=T0, actor=alice, target=Target("server", 1, "cbs"))
    other_day = add_event("test.two", at=T0 - timedelta(hours=1), target=Target("server", 2, "atm"))
    assert rows(client.get("/admin/audit?actor=ALI").get_data(as_text=True)) == [by_alice.id]
    assert rows(client.get("/admin/audit?action=test.two").get_data(as_text=True)) == [other_day.id]
    assert rows(client.get("/admin/audit?target=server:2").get_data(as_text=True)) == [other_day.id]
    one_day = client.get("/admin/audit?action=test.&from=2026-11-02&to=2026-11-02")
    assert rows(one_day.get_data(as_text=True)) == [by_alice.id]


def test_the_action_list_offers_each_recorded_action_and_each_area(client):
    sign_in(client)
    add_event("test.one")
    add_event("test.two")
    page = client.get("/admin/audit").get_data(as_text=True)
    for value in ("test.", "test.one", "test.two"):
        assert f'<option value="{value}"' in page, value


def test_a_bad_filter_is_reported_beside_it_and_ignored(client):
    sign_in(client)
    event = add_event("test.one")
    response = client.get("/admin/audit?action=test.one&from=yesterday")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-field-error="from"' in page
    assert rows(page) == [event.id]


def test_the_csv_link_keeps_the_filters_and_downloads_those_rows(client):
    sign_in(client)
    alice = make_user("it_staff", username="alice")
    kept = add_event("test.one", at=T0, actor=alice, target=Target("server", 1, "cbs"))
    add_event("test.one", at=T0 + timedelta(days=1), actor=alice, target=Target("server", 1, "cbs"))
    add_event("test.two", at=T0, actor=alice, target=Target("server", 1, "cbs"))
    page = client.get("/admin/audit?actor=alice&action=test.one&target=cbs"
                      "&from=2026-11-02&to=2026-11-02").get_data(as_text=True)
    link = csv_link(page)
    parts = urlsplit(link)
    assert parts.path == "/api/audit"
    assert parse_qs(parts.query) == {
        "format": ["csv"], "actor": ["alice"], "action": ["test.one"], "target": ["cbs"],
        "from": ["2026-11-02T00:00:00+03:00"], "to": ["2026-11-03T00:00:00+03:00"]}
    download = client.get(link)
    assert download.status_code == 200
    lines = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert [int(line[0]) for line in lines[1:]] == [kept.id]


def test_empty_states_say_what_to_do(client):
    sign_in(client)
    add_event("test.one")
    assert "No audit events match these filters" in client.get(
        "/admin/audit?action=test.none").get_data(as_text=True)
    db.session.execute(delete(AuditEvent))
    db.session.commit()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "No audit events recorded yet" in page and 'data-testid="audit-csv"' not in page
