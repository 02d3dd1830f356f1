"""Storm digests, sent by a real dramatiq worker to the SMTP sink and the Twilio stand-in:
the first page of a wave at once and alone, the rest of it one message per recipient,
channel and state per gathering window, each incident in exactly one message."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from portal.extensions import db
from portal.notify import outbox
from portal.notify.digest import (
    SMS_DIGEST_LIMIT,
    Previous,
    compose_digest,
    gathered,
    window_after,
)
from portal.settings.service import update_settings
from tests.factories import make_server
from tests.portal.incidents.test_webhook import TOKEN, alert, payload
from tests.portal.notify.helpers import T0, incident, on_call, rows
from tests.support.waiting import wait_for

WINDOW_S = 3


@pytest.fixture
def gathering(notify_app):
    update_settings({"gather_window_s": WINDOW_S}, None)


def fire_all(client, servers, status="firing", scope=("production", "core-banking")):
    """The servers' alerts in one post, as they reach the portal within a second or two."""
    alerts = []
    for server in servers:
        body = alert(server, status, starts=T0, ends=T0 + timedelta(minutes=3)
                     if status == "resolved" else None)
        body["labels"].update(environment=scope[0], group=scope[1])
        alerts.append(body)
    response = client.post("/api/alertmanager/webhook", headers=TOKEN, json=payload(*alerts))
    assert response.status_code == 200, response.get_json()


def subject(mail) -> str:
    """Unfolded: a long Subject arrives folded over lines."""
    return " ".join(mail["Subject"].split())


def all_sent() -> bool:
    found = rows()
    return bool(found) and all(row.status == "sent" for row in found)


def messages_per_row() -> Counter:
    """How many messages carried each (incident, state, channel, recipient): must be 1."""
    return Counter((row.incident_id, row.state, row.channel, row.recipient) for row in rows()
                   if row.sent_in is not None)


def test_a_storm_pages_the_first_at_once_then_one_digest_per_channel(
        notify_client, gathering, worker, smtp, twilio):
    user = on_call()
    servers = [make_server(f"cbs-app-{n:02d}") for n in range(12)]
    fire_all(notify_client, servers[:1])
    wait_for(lambda: len(smtp[1]) == 1 and len(twilio.sent) == 1, what="the first page")
    first_at = time.monotonic()
    assert subject(smtp[1][0]) == "[servermon] DOWN: cbs-app-00 - cbs-app-00 is down"
    fire_all(notify_client, servers[1:])
    wait_for(all_sent, timeout=WINDOW_S + 15, what="the digest")
    assert time.monotonic() - first_at >= WINDOW_S - 0.5  # it waited for the window
    assert len(smtp[1]) == 2 and len(twilio.sent) == 2
    digest = smtp[1][1]
    assert digest["To"] == user.email
    assert subject(digest) == ("[servermon] DOWN: 11 more servers (production/core-banking: "
                                 "cbs-app-01, cbs-app-02 and 9 more) since 2026-11-28 08:00 EAT")
    text = digest.get_payload()
    for server in servers[1:]:
        assert f"- {server.name} (production/core-banking): since 2026-11-28 08:00 EAT" in text
    sms = twilio.sent[1]["Body"]
    assert sms.startswith("DOWN 11 more servers since 2026-11-28 08:00 EAT (production/core-banking:"
                          " cbs-app-01, cbs-app-02 and 9 more) https://servermon.bank.example/"
                          "ack/")  # the link that acknowledges all 11; its page links the list
    assert "https://servermon.bank.example/alerts?message=" in text
    assert len(sms) <= SMS_DIGEST_LIMIT
    assert set(messages_per_row().values()) == {1} and len(messages_per_row()) == 24
    # Every row of the digest names the same message, the one its link shows.
    carried = {row.sent_in for row in rows() if row.incident_id != rows()[0].incident_id}
    assert len(carried) == 2  # one e-mail, one SMS

    # The recovery is a wave of its own: the first resolution alone, the rest together.
    fire_all(notify_client, servers[:1], "resolved")
    wait_for(lambda: len(smtp[1]) == 3, what="the first resolution")
    fire_all(notify_client, servers[1:], "resolved")
    wait_for(all_sent, timeout=WINDOW_S + 15, what="the resolution digest")
    assert len(smtp[1]) == 4 and len(twilio.sent) == 4
    assert subject(smtp[1][3]).startswith("[servermon] RESOLVED: 11 more servers back up "
                                            "(production/core-banking: cbs-app-01, cbs-app-02 "
                                            "and 9 more) by ")
    assert set(messages_per_row().values()) == {1} and len(messages_per_row()) == 48


def test_a_wave_that_goes_on_sends_its_digests_ever_further_apart(
        notify_client, gathering, worker, smtp):
    on_call(notify_sms=False)
    servers = [make_server(f"atm-{n}") for n in range(5)]
    fire_all(notify_client, servers[:1])
    wait_for(lambda: len(smtp[1]) == 1, what="the first page")
    started = time.monotonic()
    fire_all(notify_client, servers[1:2])
    # The rest arrive once the window's message has gone (a slow machine may send it late:
    # then what is due by then goes in it, as it should).
    wait_for(lambda: len(smtp[1]) == 2, timeout=WINDOW_S + 15, what="the window's message")
    fire_all(notify_client, servers[2:])
    wait_for(all_sent, timeout=2 * WINDOW_S + 15, what="every page sent")
    sent = sorted(row.sent_at for row in rows())
    assert len(smtp[1]) == 3
    assert subject(smtp[1][1]) == "[servermon] DOWN: atm-1 - atm-1 is down"  # a digest of one
    assert subject(smtp[1][2]).startswith("[servermon] DOWN: 3 more servers ")
    gaps = [(b - a).total_seconds() for a, b in pairwise(sorted(set(sent)))]
    # The digest after a digest waits two windows: a long storm widens its gaps.
    assert gaps[0] >= WINDOW_S - 0.5 and gaps[1] >= 2 * WINDOW_S - 0.5, gaps
    assert [row.window_s for row in sorted(rows(), key=lambda row: row.sent_at)] == \
        [0, WINDOW_S, 2 * WINDOW_S, 2 * WINDOW_S, 2 * WINDOW_S]
    assert time.monotonic() - started >= 3 * WINDOW_S


def test_windows_widen_while_a_wave_goes_on_and_start_again_after_it():
    now = T0 + timedelta(hours=1)
    assert window_after(None, "firing", 30) == 0  # the first page goes at once
    assert window_after(Previous(now, 0), "firing", 30) == 30
    assert window_after(Previous(now, 30), "firing", 30) == 60
    assert window_after(Previous(now, 60), "firing", 30) == 120
    assert window_after(Previous(now, 120), "firing", 30) == 120  # WIDEST windows at most
    # Recoveries come on Alertmanager's per-server minute ticks: they gather over two.
    assert window_after(Previous(now, 0), "resolved", 30) == 60
    assert window_after(Previous(now, 60), "resolved", 30) == 120
    assert window_after(Previous(now, 30), "firing", 0) == 0  # digests switched off
    # A message whose rows all came after the window had run out gathered nothing: the wave
    # had ended, and the one after it starts at the first window again.
    previous = Previous(now, 60)
    late = outbox.Notification(created_at=now + timedelta(seconds=121))
    early = outbox.Notification(created_at=now + timedelta(seconds=100))
    assert gathered([late], previous, 120) == 0
    assert gathered([late, early], previous, 120) == 120


def test_with_no_window_every_incident_is_its_own_message(notify_client, worker, smtp):
    update_settings({"gather_window_s": 0}, None)
    on_call(notify_sms=False)
    fire_all(notify_client, [make_server(f"web-{n}") for n in range(4)])
    wait_for(all_sent, what="every page sent")
    assert len(smtp[1]) == 4 and {row.sent_in for row in rows()} == {row.id for row in rows()}


def test_a_failed_digest_is_retried_whole_and_sent_once(
        notify_client, gathering, worker, twilio, monkeypatch):
    monkeypatch.setattr(outbox, "BACKOFF_S", (0.5, 0.5, 0.5, 0.5))
    on_call(notify_email=False)
    servers = [make_server(f"gl-{n}") for n in range(4)]
    fire_all(notify_client, servers[:1])
    wait_for(lambda: len(twilio.sent) == 1, what="the first SMS")
    twilio.fail_next = 1
    fire_all(notify_client, servers[1:])
    wait_for(all_sent, timeout=WINDOW_S + 15, what="the digest, after one failure")
    assert len(twilio.sent) == 2 and twilio.sent[1]["Body"].startswith("DOWN 3 more servers")
    digest_rows = [row for row in rows() if row.sent_in != rows()[0].id]
    assert len(digest_rows) == 3 and {row.attempts for row in digest_rows} == {2}
    assert len({row.sent_in for row in digest_rows}) == 1


def test_workers_claiming_one_recipient_at_once_send_one_message(notify_app, gathering, smtp):
    """Two sends of the same recipient's rows racing: one claim takes both rows, the other
    finds nothing to send."""
    on_call(notify_sms=False)
    with notify_app.test_client() as client:
        fire_all(client, [make_server("swift-1"), make_server("swift-2")])
    ids = [row.id for row in rows()]
    results: list[str] = []
    barrier = threading.Barrier(len(ids))

    def send(notification_id: int) -> None:
        with notify_app.app_context():
            barrier.wait()
            results.append(outbox.deliver(notification_id))
            db.session.remove()

    threads = [threading.Thread(target=send, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(smtp[1]) == 1 and sorted(results) == ["sent", "skipped"]
    assert subject(smtp[1][0]).startswith("[servermon] DOWN: 2 servers (production/core-banking: "
                                            "swift-1, swift-2)")


def test_a_digest_sms_of_hundreds_stays_within_two_segments():
    zone = ZoneInfo("Africa/Kampala")
    storm = [incident(id=n, server_name=f"core-banking-application-server-{n:03d}",
                      labels={"environment": "production", "group": f"group-{n % 7}"})
             for n in range(200)]
    subject, body, sms = compose_digest(storm, "firing", zone,
                                        "https://servermon.bank.example/alerts?message=123456",
                                        more=True)
    assert len(sms) <= SMS_DIGEST_LIMIT and sms.endswith("/alerts?message=123456")
    assert sms.startswith("DOWN 200 more servers since 2026-11-28 08:00 EAT")
    assert subject.startswith("[servermon] DOWN: 200 more servers (production/group-0: "
                              "core-banking-application-server-000, core-banking-application-"
                              "server-007 and 27 more; ")
    assert body.count("\n- ") == 200
