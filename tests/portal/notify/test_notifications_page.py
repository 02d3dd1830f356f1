"""The notification centre and the navbar bell: own notifications only, unread first in mind."""

import re
from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.models import UserNotification
from portal.rbac import ROLES
from tests.factories import make_server, make_user
from tests.support.pages import post_form, sign_in


def notify(user, title="DOWN: web-1 - connection refused", incident=None, minutes_ago=0, read=False):
    now = utcnow()
    row = UserNotification(user_id=user.id, incident_id=incident.id if incident else None, state="firing",
                           title=title, body=f"{title}\nDetails: https://servermon.example/alerts",
                           created_at=now - timedelta(minutes=minutes_ago), read_at=now if read else None)
    db.session.add(row)
    db.session.commit()
    return row


def _bell_count(html: str) -> tuple[str, bool]:
    found = re.search(r"<span [^>]*data-unread-count( hidden)?>(\d+)</span>", html)
    assert found, "no bell badge"
    return found.group(2), bool(found.group(1))


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login?next=/notifications" in response.location


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_role_has_a_bell_and_a_notification_centre(client, role):
    sign_in(client, role)
    assert client.get("/notifications").status_code == 200
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="bell"' in html and 'href="/notifications"' in html


def test_the_bell_counts_only_my_unread_notifications(client):
    me = sign_in(client)
    other = make_user("it_staff")
    notify(me)
    notify(me, minutes_ago=5)
    notify(me, read=True)
    notify(other)
    html = client.get("/dashboard").get_data(as_text=True)
    assert _bell_count(html) == ("2", False)
    assert 'aria-label="Notifications, 2 unread"' in html


def test_with_nothing_unread_the_badge_is_hidden(client):
    sign_in(client)
    assert _bell_count(client.get("/dashboard").get_data(as_text=True)) == ("0", True)


def test_signed_in_pages_load_the_live_core_and_say_the_time_zone(client):
    sign_in(client)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'src="/static/live/core.js"' in html and 'data-timezone="Africa/Kampala"' in html
    assert 'aria-live="polite"' in html and "data-live-announcer" in html


def test_the_sign_in_page_has_no_bell_and_no_live_script(client):
    html = client.get("/login").get_data(as_text=True)
    assert "data-bell" not in html and "/static/live/" not in html


def test_notifications_are_listed_newest_first_unread_highlighted_with_incident_links(client):
    me = sign_in(client, "customer_engagement")
    server = make_server("web-1")
    incident = Incident(fingerprint="fp", alert_started_at=utcnow(), alertname="ServerDown",
                        severity="critical", server_id=server.id, server_name="web-1", labels={},
                        started_at=utcnow())
    db.session.add(incident)
    db.session.commit()
    older = notify(me, "RESOLVED: web-1 is back up", minutes_ago=10, read=True)
    newer = notify(me, "DOWN: web-1 - refused", incident=incident)
    notify(make_user("it_staff"), "someone else's")
    html = client.get("/notifications").get_data(as_text=True)
    ids = [int(found) for found in re.findall(r'data-notification-id="(\d+)"', html)]
    assert ids == [newer.id, older.id]
    assert f'notification-unread" data-notification-id="{newer.id}"' in html
    assert f'notification" data-notification-id="{older.id}"' in html
    assert f'href="/alerts?incident={incident.id}"' in html
    assert "someone else" not in html
    assert f'data-testid="mark-read-{newer.id}"' in html and f'data-testid="mark-read-{older.id}"' not in html


def test_marking_one_as_read(client):
    me = sign_in(client)
    first, second = notify(me), notify(me)
    response = post_form(client, f"/notifications/{first.id}/read")
    assert response.status_code == 302 and response.location.endswith("/notifications")
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.read_at is not None and second.read_at is None
    assert _bell_count(client.get("/notifications").get_data(as_text=True)) == ("1", False)


def test_marking_all_as_read(client):
    me = sign_in(client)
    rows = [notify(me) for _ in range(3)]
    theirs = notify(make_user("it_staff"))
    response = post_form(client, "/notifications/read-all", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "3 notifications marked as read." in html
    assert _bell_count(html) == ("0", True) and 'data-testid="mark-all-read"' not in html
    for row in rows:
        db.session.refresh(row)
        assert row.read_at is not None
    db.session.refresh(theirs)
    assert theirs.read_at is None


def test_someone_elses_notification_cannot_be_marked(client):
    sign_in(client)
    theirs = notify(make_user("it_staff"))
    assert post_form(client, f"/notifications/{theirs.id}/read").status_code == 404
    db.session.refresh(theirs)
    assert theirs.read_at is None


def test_marking_needs_the_csrf_field(client):
    me = sign_in(client)
    row = notify(me)
    assert client.post(f"/notifications/{row.id}/read").status_code == 403
    assert client.post("/notifications/read-all").status_code == 403
    db.session.refresh(row)
    assert row.read_at is None


def test_notification_text_is_escaped(client):
    me = sign_in(client)
    notify(me, "<img src=x onerror=alert(1)>")
    html = client.get("/notifications").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_the_details_address_is_a_link_and_the_incident_button_an_action(client):
    user = sign_in(client, "it_staff")
    server = make_server()
    incident = Incident(fingerprint="fp-link", alert_started_at=utcnow(), alertname="ServerDown",
                        severity="critical", server_id=server.id, server_name=server.name,
                        started_at=utcnow(), labels={})
    db.session.add(incident)
    db.session.commit()
    notify(user, incident=incident)
    html = client.get("/notifications").get_data(as_text=True)
    body = html.split('data-testid="notification-body">', 1)[1].split("</p>", 1)[0]
    assert 'Details: <a href="https://servermon.example/alerts" rel="noopener noreferrer">' \
           'https://servermon.example/alerts</a>' in body
    button = re.search(r'<a class="([^"]+)" href="/alerts\?incident=' + str(incident.id), html)
    assert button and "btn-primary" in button.group(1).split()


def test_only_http_addresses_become_links_and_text_stays_escaped(client):
    user = sign_in(client, "it_staff")
    row = notify(user, title="odd")
    row.body = ('see javascript:alert(1) and <script>x</script> at '
                'https://portal.example/a?b=1&c="2" (or http://x.example/p).')
    db.session.commit()
    html = client.get("/notifications").get_data(as_text=True)
    body = html.split('data-testid="notification-body">', 1)[1].split("</p>", 1)[0]
    assert "javascript:alert(1)" in body and 'href="javascript' not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body and "<script>" not in body
    assert '<a href="https://portal.example/a?b=1&amp;c=" rel' in body  # the quote ends it
    assert '<a href="http://x.example/p" rel="noopener noreferrer">http://x.example/p</a>).' in body
