"""/api/notifications: each user's own bell, newest first, with the unread count."""

import json

import pytest

from portal.realtime.publish import CHANNEL
from portal.redis_client import channel, get_redis
from portal.settings.service import update_settings
from tests.factories import login, make_server, make_user
from tests.portal.notify.helpers import fire
from tests.support.waiting import wait_for


@pytest.fixture
def viewer(notify_client):
    """Each incident its own entry: these tests list and page entries, not waves
    (test_bell_waves.py groups them)."""
    update_settings({"gather_window_s": 0}, None)
    return make_user("customer_engagement")


def inbox(client, headers, query=""):
    response = client.get(f"/api/notifications{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_it_lists_own_notifications_newest_first_with_the_unread_count(notify_client, viewer):
    fire(notify_client, make_server("atm-switch"))
    fire(notify_client, make_server("swift-gw"))
    listed = inbox(notify_client, login(notify_client, viewer))
    assert listed["unread"] == 2 and listed["total"] == 2
    assert [item["title"][:16] for item in listed["items"]] == ["DOWN: swift-gw -",
                                                                "DOWN: atm-switch"]
    assert {item["user_id"] for item in listed["items"]} == {viewer.id}


def test_it_pages(notify_client, viewer):
    for name in ("a", "b", "c"):
        fire(notify_client, make_server(name))
    listed = inbox(notify_client, login(notify_client, viewer), "?per_page=2&page=2")
    assert (len(listed["items"]), listed["total"], listed["pages"]) == (1, 3, 2)


def test_marking_some_read(notify_client, viewer):
    fire(notify_client, make_server())
    fire(notify_client, make_server())
    headers = login(notify_client, viewer)
    first = inbox(notify_client, headers)["items"][0]["id"]
    read = notify_client.post("/api/notifications/read", headers=headers, json={"ids": [first]})
    assert read.get_json() == {"unread": 1}
    assert [item["id"] for item in inbox(notify_client, headers, "?unread=true")["items"]] != [
        first]


def test_marking_all_read(notify_client, viewer):
    fire(notify_client, make_server())
    fire(notify_client, make_server())
    headers = login(notify_client, viewer)
    read = notify_client.post("/api/notifications/read", headers=headers, json={"all": True})
    assert read.get_json() == {"unread": 0}
    assert all(item["read_at"] for item in inbox(notify_client, headers)["items"])


def test_nobody_can_mark_read_what_is_not_theirs(notify_client, viewer):
    other = make_user("admin")
    fire(notify_client, make_server())
    theirs = inbox(notify_client, login(notify_client, other))["items"][0]["id"]
    notify_client.post("/api/notifications/read", headers=login(notify_client, viewer),
                       json={"ids": [theirs]})
    assert inbox(notify_client, login(notify_client, other))["unread"] == 1


@pytest.mark.parametrize(("body", "field"), [({}, "ids"), ({"ids": ["x"]}, "ids"),
                                             ({"all": True, "every": True}, "every")])
def test_marking_read_names_the_bad_field(notify_client, viewer, body, field):
    response = notify_client.post("/api/notifications/read", json=body,
                                  headers=login(notify_client, viewer))
    assert response.status_code == 400 and field in str(response.get_json()["details"])


def test_it_needs_a_signed_in_user(notify_client):
    assert notify_client.get("/api/notifications").status_code == 401
    assert notify_client.post("/api/notifications/read", json={"all": True}).status_code == 401


def test_each_new_entry_is_pushed_live_to_its_user(notify_client, viewer):
    listener = get_redis().pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel(CHANNEL))
    try:
        wait_for(lambda: get_redis().pubsub_numsub(channel(CHANNEL))[0][1], what="subscribed")
        fire(notify_client, make_server("atm-switch"))
        events = []

        def bell():
            message = listener.get_message(timeout=0.1)
            if message:
                events.append(json.loads(message["data"]))
            return [e for e in events if e["type"] == "notification"]

        [event] = wait_for(bell, what="a notification event")
    finally:
        listener.close()
    assert event["data"]["user_id"] == viewer.id
    assert event["data"]["title"].startswith("DOWN: atm-switch")
