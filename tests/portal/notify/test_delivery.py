"""A real dramatiq worker sends the outbox: e-mail to the SMTP sink, SMS to the Twilio
stand-in, each exactly once, and failed sends retried with backoff until they give up."""

from datetime import timedelta

from portal.notify import outbox
from tests.factories import login, make_server, make_user
from tests.portal.notify.conftest import TWILIO_SID
from tests.portal.notify.helpers import T0, fire, on_call, rows
from tests.support.waiting import wait_for


def all_sent():
    found = rows()
    return found and all(n.status == "sent" for n in found)


def test_an_outage_is_mailed_and_texted_once_even_when_delivered_twice(
        notify_client, worker, smtp, twilio):
    server = make_server("core-banking")
    user = on_call()
    fire(notify_client, server)
    fire(notify_client, server)  # Alertmanager redelivers
    for row in rows():
        outbox.enqueue(row.id)  # and the queue delivers each message twice
    worker.join("default", timeout=10_000)
    wait_for(all_sent, what="every notification sent")
    [mail] = smtp[1]
    assert mail["To"] == user.email and mail["From"] == "servermon@bank.example"
    assert mail["Subject"] == "[servermon] DOWN: core-banking - core-banking is down"
    assert mail.get_content_type() == "text/plain"
    assert "since 2026-11-28 08:00 EAT" in mail.get_payload()
    assert "https://servermon.bank.example/alerts?incident=" in mail.get_payload()
    [sms] = twilio.sent
    assert sms["To"] == "+256700000001" and sms["From"] == "+15005550006"
    assert sms["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert sms["Body"].startswith("DOWN core-banking since 2026-11-28 08:00 EAT")
    assert len(sms["Body"]) <= 160
    assert all(n.attempts == 1 and n.sent_at for n in rows())


def test_a_resolution_is_sent_with_how_long_it_was_down(notify_client, worker, smtp, twilio):
    server = make_server("swift-gw")
    on_call()
    fire(notify_client, server)
    fire(notify_client, server, "resolved", ends=T0 + timedelta(minutes=4, seconds=12))
    wait_for(lambda: len(smtp[1]) == 2 and len(twilio.sent) == 2, what="both messages twice")
    resolved = next(m for m in smtp[1] if "RESOLVED" in m["Subject"])
    assert resolved["Subject"] == "[servermon] RESOLVED: swift-gw is back up after 4 min 12 s"
    assert "It was down for 4 min 12 s" in resolved.get_payload()
    assert any(s["Body"].startswith("RESOLVED swift-gw: up again after 4 min 12 s")
               for s in twilio.sent)


def test_a_twilio_failure_is_retried_after_a_delay_then_sent(
        notify_client, worker, twilio, monkeypatch):
    monkeypatch.setattr(outbox, "BACKOFF_S", (0.3, 0.3, 0.3, 0.3))
    twilio.fail_next = 2
    on_call(notify_email=False)
    fire(notify_client, make_server())
    wait_for(all_sent, timeout=15, what="the SMS sent after two failures")
    [sms] = rows()
    assert sms.attempts == 3 and sms.last_error is None
    assert len(twilio.sent) == 1
    assert (sms.sent_at - sms.created_at).total_seconds() >= 0.6  # two backoffs waited


def test_a_page_failing_past_the_retry_horizon_ends_failed_and_shows_in_the_outbox(
        notify_client, worker, twilio, monkeypatch):
    from portal.dbtypes import utcnow
    from portal.extensions import db
    from portal.notify.models import Notification

    monkeypatch.setattr(outbox, "BACKOFF_S", (0.1, 0.1, 0.1, 0.1))
    monkeypatch.setattr(outbox, "MAX_BACKOFF_S", 0.1)
    twilio.fail_next = 100
    on_call(notify_email=False)
    fire(notify_client, make_server())
    # As if it had been failing for the hour OUTBOX_RETRY_FOR_S allows, less a second.
    db.session.execute(db.update(Notification).values(
        created_at=utcnow() - timedelta(seconds=3599)))
    db.session.commit()
    wait_for(lambda: rows()[0].status == "failed", timeout=15, what="the SMS given up")
    attempts = rows()[0].attempts
    assert attempts >= 2 and twilio.fail_next == 100 - attempts  # and no try after
    headers = login(notify_client, make_user("customer_engagement"))
    listed = notify_client.get("/api/notifications/outbox?status=failed", headers=headers)
    [item] = listed.get_json()["items"]
    assert item["channel"] == "sms" and item["attempts"] == attempts
    assert "HTTP 500" in item["last_error"]
