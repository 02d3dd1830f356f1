"""From webhook to inbox and phone: the outbox, the worker, retries, the sweeper, the bell.

E-mail goes to an SMTP sink (aiosmtpd) and SMS to a local stand-in for Twilio's REST API.
"""

from datetime import UTC, datetime, timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify import outbox
from portal.notify.models import Notification, ServerContact, UserNotification
from portal.notify.recipients import paged
from portal.settings.service import load_settings, update_settings
from tests.factories import login, make_server, make_user
from tests.portal.incidents.test_webhook import TOKEN, alert, payload
from tests.portal.notify.conftest import TWILIO_SID
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def on_call(role="it_staff", **fields):
    fields.setdefault("phone", "+256700000001")
    fields.setdefault("notify_sms", True)
    return make_user(role, **fields)


def fire(client, server, status="firing", **kwargs):
    response = client.post("/api/alertmanager/webhook", headers=TOKEN,
                           json=payload(alert(server, status, starts=T0, **kwargs)))
    assert response.status_code == 200, response.get_json()
    return response


def rows(model=Notification):
    return db.session.scalars(db.select(model).order_by(model.id)).all()


def test_recipients_follow_roles_opt_ins_contacts_and_switches(notify_app):
    server = make_server()
    staff = on_call("it_staff")
    make_user("it_staff", notify_email=False)                  # opted out of e-mail
    make_user("flexipay_support")                              # role not paged by default
    make_user("admin", is_active=False)                        # disabled
    db.session.add(ServerContact(server_id=server.id, name="Vendor NOC",
                                 email="noc@vendor.example", phone="+256700000099"))
    db.session.commit()
    incident = Incident(fingerprint="f", alert_started_at=T0, alertname="ServerDown",
                        severity="critical", server_id=server.id, server_name=server.name,
                        started_at=T0, labels={})
    got = {(r.channel, r.address) for r in paged(incident, load_settings())}
    assert got == {("email", staff.email), ("sms", "+256700000001"),
                   ("email", "noc@vendor.example"), ("sms", "+256700000099")}
    update_settings({"notify_sms": False}, None)
    assert {r.channel for r in paged(incident, load_settings())} == {"email"}
    incident.severity = "warning"
    assert paged(incident, load_settings()) == []
    incident.severity, incident.in_maintenance = "critical", True
    assert paged(incident, load_settings()) == []


def test_an_outage_is_mailed_and_texted_once_even_when_delivered_twice(
        notify_client, worker, smtp, twilio):
    server = make_server("core-banking")
    user = on_call()
    fire(notify_client, server)
    fire(notify_client, server)  # Alertmanager redelivers
    planned = rows()
    assert {(n.channel, n.state) for n in planned} == {("email", "firing"), ("sms", "firing")}
    outbox.enqueue(planned[0].id)  # a duplicate queue message
    worker.join("default", timeout=10_000)
    wait_for(lambda: all(n.status == "sent" for n in rows()) or db.session.expire_all())
    [mail] = smtp[1]
    assert mail["To"] == user.email
    assert mail["Subject"] == "[servermon] DOWN: core-banking - core-banking is down"
    assert "since 2026-11-28 08:00 EAT" in mail.get_payload()
    assert "https://servermon.bank.example/alerts?incident=" in mail.get_payload()
    [sms] = twilio.sent
    assert sms["To"] == "+256700000001" and sms["From"] == "+15005550006"
    assert sms["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert sms["Body"].startswith("DOWN core-banking since 2026-11-28 08:00 EAT")
    assert len(sms["Body"]) <= 160


def test_a_resolution_says_how_long_it_was_down(notify_client, worker, smtp, twilio):
    server = make_server("swift-gw")
    on_call()
    fire(notify_client, server)
    fire(notify_client, server, "resolved", ends=T0 + timedelta(minutes=4, seconds=12))
    worker.join("default", timeout=10_000)
    wait_for(lambda: len(smtp[1]) == 2 and len(twilio.sent) == 2)
    resolved = next(m for m in smtp[1] if "RESOLVED" in m["Subject"])
    assert resolved["Subject"] == "[servermon] RESOLVED: swift-gw is back up after 4 min 12 s"
    assert any(s["Body"].startswith("RESOLVED swift-gw: up again after 4 min 12 s")
               for s in twilio.sent)


def test_a_twilio_failure_is_retried_with_backoff_then_sent(
        notify_client, worker, twilio, monkeypatch):
    monkeypatch.setattr(outbox, "BACKOFF_S", (0.2, 0.2, 0.2, 0.2))
    twilio.fail_next = 2
    on_call(notify_email=False)
    fire(notify_client, make_server())
    wait_for(lambda: twilio.sent, timeout=15)
    db.session.expire_all()
    [sms] = rows()
    assert sms.status == "sent" and sms.attempts == 3
    assert "500" in (sms.last_error or "") or sms.last_error is None


def test_five_failures_end_as_failed_and_show_in_the_outbox(
        notify_client, worker, twilio, monkeypatch):
    monkeypatch.setattr(outbox, "BACKOFF_S", (0.1, 0.1, 0.1, 0.1))
    twilio.fail_next = 100
    on_call(notify_email=False)
    fire(notify_client, make_server())

    def failed():
        db.session.expire_all()
        return rows() and rows()[0].status == "failed"

    wait_for(failed, timeout=15)
    assert rows()[0].attempts == outbox.MAX_ATTEMPTS
    headers = login(notify_client, make_user("customer_engagement"))
    listed = notify_client.get("/api/notifications/outbox?status=failed", headers=headers)
    [item] = listed.get_json()["items"]
    assert item["channel"] == "sms" and item["attempts"] == 5 and item["last_error"]


def test_the_sweeper_requeues_what_a_lost_queue_dropped(notify_app, worker, smtp):
    user = make_user("it_staff")
    incident = Incident(fingerprint="lost", alert_started_at=T0, alertname="ServerDown",
                        severity="critical", started_at=T0, labels={}, server_name="x")
    db.session.add(incident)
    db.session.flush()
    db.session.add(Notification(incident_id=incident.id, state="firing", channel="email",
                                recipient=user.email, subject="s", body="b",
                                next_attempt_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()  # never queued: as if Redis lost the message
    assert outbox.sweep() == 1
    wait_for(lambda: smtp[1])
    assert outbox.sweep() == 0


def test_a_worker_that_died_mid_send_is_recovered(notify_app):
    incident = Incident(fingerprint="stuck", alert_started_at=T0, alertname="ServerDown",
                        severity="critical", started_at=T0, labels={}, server_name="x")
    db.session.add(incident)
    db.session.flush()
    row = Notification(incident_id=incident.id, state="firing", channel="email",
                       recipient="a@bank.example", subject="s", body="b", status="sending",
                       claimed_at=utcnow() - timedelta(minutes=10))
    db.session.add(row)
    db.session.commit()
    outbox.sweep()
    db.session.refresh(row)
    assert row.status == "pending"


def test_the_bell_lists_counts_and_marks_read(notify_client):
    viewer = make_user("customer_engagement")
    fire(notify_client, make_server("atm-switch"))
    headers = login(notify_client, viewer)
    inbox = notify_client.get("/api/notifications", headers=headers).get_json()
    assert inbox["unread"] == 1
    assert inbox["items"][0]["title"].startswith("DOWN: atm-switch")
    read = notify_client.post("/api/notifications/read", headers=headers,
                              json={"ids": [inbox["items"][0]["id"]]})
    assert read.get_json()["unread"] == 0
    bad = notify_client.post("/api/notifications/read", headers=headers, json={})
    assert bad.status_code == 400 and "ids" in bad.get_json()["details"]


def test_nobody_is_paged_during_maintenance_but_the_bell_still_rings(notify_client):
    from portal.incidents.models import MaintenanceWindow

    server = make_server()
    on_call()
    db.session.add(MaintenanceWindow(server_id=server.id, starts_at=T0 - timedelta(hours=1),
                                     ends_at=T0 + timedelta(hours=1), reason="patching"))
    db.session.commit()
    fire(notify_client, server)
    assert rows() == [] and len(rows(UserNotification)) == 1


@pytest.mark.parametrize(("body", "field"), [({"name": "x"}, "email"),
                                             ({"name": "x", "phone": "0700"}, "phone"),
                                             ({"email": "a@b.example"}, "name")])
def test_contacts_are_validated(notify_client, body, field):
    server = make_server()
    headers = login(notify_client, make_user("it_staff"))
    response = notify_client.post(f"/api/servers/{server.id}/contacts", json=body,
                                  headers=headers)
    assert response.status_code == 400 and field in response.get_json()["details"]


def test_contacts_need_servers_manage(notify_client):
    server = make_server()
    headers = login(notify_client, make_user("flexipay_support"))
    assert notify_client.post(f"/api/servers/{server.id}/contacts", json={},
                              headers=headers).status_code == 403
