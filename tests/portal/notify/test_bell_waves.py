"""The bell groups a storm: the entries of one wave (same state, within the gathering
window, while unread) are one entry with a count, counted once and marked read at once;
each incident keeps its own row."""

from __future__ import annotations

from datetime import timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.models import UserNotification
from portal.settings.service import update_settings
from tests.factories import login, make_server, make_user
from tests.portal.incidents.test_webhook import TOKEN, alert, payload
from tests.portal.notify.helpers import T0
from tests.support.pages import post_form, sign_in


def storm(client, servers):
    response = client.post("/api/alertmanager/webhook", headers=TOKEN,
                           json=payload(*[alert(server, starts=T0) for server in servers]))
    assert response.status_code == 200


def test_a_storm_is_one_bell_entry_with_its_count(client):
    user = make_user("it_staff")
    headers = login(client, user)
    storm(client, [make_server(f"cbs-{n:02d}") for n in range(12)])
    body = client.get("/api/notifications", headers=headers).get_json()
    assert body["unread"] == 1 and len(body["items"]) == 1
    [entry] = body["items"]
    assert entry["count"] == 12 and entry["title"].startswith("DOWN: cbs-00")
    assert db.session.scalar(db.select(db.func.count(UserNotification.id)).where(
        UserNotification.user_id == user.id)) == 12  # one row per incident still
    marked = client.post("/api/notifications/read", headers=headers, json={"ids": [entry["id"]]})
    assert marked.get_json() == {"unread": 0}
    assert db.session.scalar(db.select(db.func.count(UserNotification.id)).where(
        UserNotification.user_id == user.id, UserNotification.read_at.is_(None))) == 0


def test_a_new_wave_starts_after_the_window_or_once_the_first_is_read(client):
    user = make_user("it_staff")
    headers = login(client, user)
    storm(client, [make_server("a-1"), make_server("a-2")])
    first = db.session.scalars(db.select(UserNotification).where(
        UserNotification.user_id == user.id, UserNotification.wave_of.is_(None))).one()
    first.created_at = utcnow() - timedelta(seconds=31)  # the window has passed
    db.session.commit()
    storm(client, [make_server("b-1")])
    assert client.get("/api/notifications", headers=headers).get_json()["unread"] == 2
    client.post("/api/notifications/read", headers=headers, json={"all": True})
    storm(client, [make_server("c-1")])
    items = client.get("/api/notifications", headers=headers).get_json()["items"]
    assert [item["count"] for item in items] == [1, 1, 2]


def test_with_no_window_every_incident_is_its_own_entry(client):
    update_settings({"gather_window_s": 0}, None)
    headers = login(client, make_user("it_staff"))
    storm(client, [make_server(f"web-{n}") for n in range(3)])
    assert client.get("/api/notifications", headers=headers).get_json()["unread"] == 3


def test_the_page_shows_the_wave_and_marks_it_read(client):
    user = sign_in(client, "it_staff")
    storm(client, [make_server(f"atm-{n}") for n in range(5)])
    html = client.get("/notifications").get_data(as_text=True)
    assert "and 4 more" in html and "Open these 5 incidents" in html
    assert "1 unread" in html
    [entry_id] = db.session.scalars(db.select(UserNotification.id).where(
        UserNotification.wave_of.is_(None), UserNotification.user_id == user.id)).all()
    assert post_form(client, f"/notifications/{entry_id}/read").status_code == 302
    # The whole wave is read (the page's own counts are per request; this test keeps one
    # app context, and with it the navbar's cached count, across its requests).
    assert db.session.scalar(db.select(db.func.count(UserNotification.id)).where(
        UserNotification.user_id == user.id, UserNotification.read_at.is_(None))) == 0
    html = client.get("/notifications").get_data(as_text=True)
    assert f'data-notification-id="{entry_id}"\n      data-read="true"' in html


def test_a_waves_link_lists_that_waves_incidents_and_no_other(client):
    """Measured before: the link went to every open incident, the wave's and others'."""
    user = sign_in(client, "it_staff")
    earlier = make_server("other-db")
    storm(client, [earlier])
    client.post("/api/notifications/read", headers={"X-CSRF-TOKEN": client.get_cookie(
        "csrf_access_token").value}, json={"all": True})
    storm(client, [make_server(f"atm-{n}") for n in range(5)])
    [leader] = db.session.scalars(db.select(UserNotification.id).where(
        UserNotification.wave_of.is_(None), UserNotification.user_id == user.id,
        UserNotification.read_at.is_(None))).all()
    page = client.get("/notifications").get_data(as_text=True)
    assert f'href="/alerts?wave={leader}" data-testid="wave-link"' in page
    listed = client.get(f"/alerts?wave={leader}").get_data(as_text=True)
    assert 'data-testid="wave-filter"' in listed
    assert listed.count('id="incident-') == 5 and f'href="/servers/{earlier.id}"' not in listed
    api = client.get(f"/api/incidents?wave={leader}").get_json()
    assert sorted(item["server"] for item in api["items"]) == [f"atm-{n}" for n in range(5)]
