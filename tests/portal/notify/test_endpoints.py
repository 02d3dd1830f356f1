"""Webhook and chat endpoints, paged like people by a real worker: a webhook's post is JSON
signed with HMAC (checked here as a receiver would) and retried after a 500; a chat
endpoint gets {"text"}; the API keeps the URL's secret path to itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from portal.extensions import db
from portal.notify import outbox
from portal.notify.models import Notification
from tests.factories import login, make_server, make_user
from tests.portal.notify.helpers import fire, rows
from tests.support.standins import WebhookReceiver
from tests.support.waiting import wait_for


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def add(client, headers, **body):
    response = client.post("/api/notifications/endpoints", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_webhook_gets_each_page_signed_and_retried_once_after_a_500(
        notify_client, worker, receiver, monkeypatch):
    monkeypatch.setattr(outbox, "BACKOFF_S", (0.3, 0.3, 0.3, 0.3))
    admin = login(notify_client, make_user("admin", notify_email=False))
    created = add(notify_client, admin, name="ServiceNow", kind="webhook",
                  url=f"{receiver.url}/api/now/servermon")
    receiver.fail_next = 1
    fire(notify_client, make_server("core-banking"))
    wait_for(lambda: receiver.posts, what="the post, after one 500")
    wait_for(lambda: all(row.status == "sent" for row in rows()), what="the row sent")
    [post] = receiver.posts
    timestamp = post["headers"]["X-Servermon-Timestamp"]
    expected = hmac.new(created["signing_key"].encode(), timestamp.encode() + b"." + post["body"],
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(post["headers"]["X-Servermon-Signature"], f"sha256={expected}")
    payload = json.loads(post["body"])
    assert payload["state"] == "firing" and payload["subject"].startswith("[servermon] DOWN: core")
    assert [item["server"] for item in payload["incidents"]] == ["core-banking"]
    [row] = [row for row in rows() if row.channel == "webhook"]
    assert row.recipient == f"endpoint:{created['id']}" and row.attempts == 2


def test_a_chat_channel_gets_the_message_as_text(notify_client, worker, receiver):
    admin = login(notify_client, make_user("admin", notify_email=False))
    add(notify_client, admin, name="#noc", kind="chat", url=f"{receiver.url}/services/T0/B0/x")
    fire(notify_client, make_server("swift-gw"))
    wait_for(lambda: receiver.posts, what="the chat post")
    text = json.loads(receiver.posts[0]["body"])["text"]
    assert text.startswith("DOWN: swift-gw - swift-gw is down\nswift-gw is down since")
    assert "X-Servermon-Signature" not in receiver.posts[0]["headers"]


def test_the_api_hides_the_url_path_checks_input_and_needs_settings_manage(notify_client):
    admin = login(notify_client, make_user("admin"))
    created = add(notify_client, admin, name="Teams", kind="chat",
                  url="https://bank.webhook.office.com/webhookb2/secret-part")
    listed = notify_client.get("/api/notifications/endpoints", headers=admin).get_json()["items"]
    assert listed[0]["url"] == "https://bank.webhook.office.com/…" and "signing_key" not in listed[0]
    assert created["url"] == "https://bank.webhook.office.com/…"
    for body, field in (({"name": "x", "kind": "webhook", "url": "ftp://x"}, "url"),
                        ({"name": "x", "kind": "pager", "url": "https://x.example"}, "kind"),
                        ({"name": "x", "kind": "webhook", "url": "https://u:p@x.example"}, "url")):
        response = notify_client.post("/api/notifications/endpoints", headers=admin, json=body)
        assert response.status_code == 400 and field in response.get_json()["details"], body
    viewer = login(notify_client, make_user("flexipay_support"))
    assert notify_client.get("/api/notifications/endpoints", headers=viewer).status_code == 403
    assert notify_client.delete(f"/api/notifications/endpoints/{created['id']}",
                                headers=admin).status_code == 204


def test_a_page_to_a_removed_endpoint_fails_at_once(notify_client, receiver):
    admin = login(notify_client, make_user("admin", notify_email=False))
    created = add(notify_client, admin, name="gone", kind="webhook", url=receiver.url)
    fire(notify_client, make_server())
    [row] = [row for row in rows() if row.channel == "webhook"]
    notify_client.delete(f"/api/notifications/endpoints/{created['id']}", headers=admin)
    assert outbox.deliver(row.id) == "failed"
    db.session.expire_all()
    assert db.session.get(Notification, row.id).status == "failed" and receiver.posts == []


def test_the_settings_page_adds_lists_and_removes_endpoints(notify_client):
    from tests.support.pages import post_form, sign_in

    sign_in(notify_client, "admin")
    response = post_form(notify_client, "/settings/endpoints", {
        "name": "Jira", "kind": "webhook", "url": "https://jira.bank.example/hooks/x", "tier": "2"})
    assert response.status_code == 302
    html = notify_client.get("/settings").get_data(as_text=True)
    section = html.split('data-testid="endpoints"', 1)[1]
    assert "Jira" in section and "tier 2" in section and "https://jira.bank.example/…" in section
    assert "/hooks/x" not in section and "Signing key" in section
    bad = post_form(notify_client, "/settings/endpoints", {"name": "x", "kind": "webhook",
                                                           "url": "javascript:alert(1)"})
    shown = notify_client.get(bad.location).get_data(as_text=True)
    assert "The endpoint was not added: url must be an http(s) URL." in shown
    [endpoint_id] = [int(i) for i in re.findall(r'data-endpoint-id="(\d+)"', section)]
    assert post_form(notify_client, f"/settings/endpoints/{endpoint_id}/delete").status_code == 302
    assert "Jira" not in notify_client.get("/settings").get_data(as_text=True).split(
        'data-testid="endpoints"', 1)[1]
