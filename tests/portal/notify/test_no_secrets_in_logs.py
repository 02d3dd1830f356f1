"""No secret reaches the logs, whatever happens: a day of use with every log at DEBUG.

Signing in (right and wrong), tokens made, used and revoked, a password changed, the
webhook and service discovery called with their tokens (and with wrong ones), an outage
paged by e-mail and SMS with Twilio failing once on the way. Every secret involved,
and the Basic credentials Twilio's client builds from one, must be absent from every
log line, including those of the libraries underneath.
"""

from __future__ import annotations

import base64
import logging

from portal.notify import outbox
from tests.factories import PASSWORD, make_server, make_user
from tests.portal.incidents.test_webhook import TOKEN as WEBHOOK
from tests.portal.notify.conftest import TWILIO_SID, TWILIO_TOKEN
from tests.portal.notify.helpers import fire, on_call, rows
from tests.support.waiting import wait_for

SD = "sd-token-for-tests-0123456789"
NEW_PASSWORD = "a-new-password-for-the-logs-test"
WRONG_PASSWORD = "an-almost-right-password"


def test_no_secret_is_ever_logged(notify_app, notify_client, worker, twilio, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(outbox, "BACKOFF_S", (0.2, 0.2, 0.2, 0.2))
    client = notify_client
    user = make_user("admin", username="log.check")
    on_call(notify_email=True)

    assert client.post("/api/auth/login", json={"username": user.username,
                                                "password": WRONG_PASSWORD}).status_code == 401
    assert client.post("/login", data={"username": user.username,
                                       "password": WRONG_PASSWORD}).status_code in (200, 401)
    signed_in = client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
    jwts = [signed_in.get_json()["access_token"], signed_in.get_json()["refresh_token"]]
    bearer = {"Authorization": f"Bearer {jwts[0]}"}

    made = client.post("/api/tokens", json={"name": "nightly export"}, headers=bearer).get_json()
    api_token = made["token"]
    assert client.get("/api/servers", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    assert client.delete(f"/api/tokens/{made['id']}", headers=bearer).status_code == 204
    assert client.get("/api/servers", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401

    changed = client.patch("/api/auth/me", headers=bearer,
                           json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    jwts += [changed.get_json()["access_token"], changed.get_json()["refresh_token"]]
    created = client.post("/api/users", headers={"Authorization": f"Bearer {jwts[2]}"},
                          json={"username": "new.colleague", "password": "colleague-password-1",
                                "role": "it_staff", "email": "new.colleague@bank.example"})
    assert created.status_code == 201, created.get_json()

    assert client.get("/api/sd/targets", headers={"Authorization": f"Bearer {SD}"}).status_code == 200
    assert client.get("/api/sd/targets", headers={"Authorization": "Bearer sd-wrong"}).status_code == 401
    wrong_webhook = {"Authorization": WEBHOOK["Authorization"] + "-wrong"}
    assert client.post("/api/alertmanager/webhook", headers=wrong_webhook, json={}).status_code == 401

    twilio.fail_next = 1
    fire(client, make_server("core-banking"))
    wait_for(lambda: rows() and all(n.status == "sent" for n in rows()), timeout=15,
             what="e-mail and SMS sent, the SMS after one failure")
    assert twilio.sent and twilio.sent[0]["auth"]  # Twilio's client did send credentials

    config = notify_app.config["SERVERMON"]
    secrets = {
        "password": PASSWORD, "wrong password": WRONG_PASSWORD, "new password": NEW_PASSWORD,
        "new user's password": "colleague-password-1", "API token": api_token,
        "SECRET_KEY": config.secret_key, "SD_TOKEN": SD,
        "PROBE_SECRETS_KEY": config.probe_secrets_key,
        "ALERTMANAGER_WEBHOOK_TOKEN": WEBHOOK["Authorization"].removeprefix("Bearer "),
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "Twilio Basic credentials": base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode(),
        **{f"JWT {n}": jwt for n, jwt in enumerate(jwts)},
    }
    logged = caplog.text + "\n".join(str(record.args) for record in caplog.records)
    assert len(caplog.records) > 10  # the logs were captured at all
    assert [name for name, value in secrets.items() if value in logged] == []
