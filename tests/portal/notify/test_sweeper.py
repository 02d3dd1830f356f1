"""The sweeper requeues what a lost queue message or a dead worker left behind."""

import time
from datetime import timedelta

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify import outbox
from tests.factories import make_server
from tests.portal.notify.helpers import (
    fire,
    on_call,
    outbox_row,
    redis_unreachable,
    rows,
    stored_incident,
)
from tests.support.waiting import wait_for


def test_a_webhook_while_redis_is_down_is_stored_and_sent_by_the_sweeper_later(
        notify_client, worker, smtp):
    on_call(notify_sms=False)
    with redis_unreachable():
        started = time.monotonic()
        fire(notify_client, make_server())  # answers 200: the incident and outbox are stored
        assert time.monotonic() - started < 5
    [row] = rows()
    assert row.status == "pending"
    assert outbox.sweep() == 0  # not lost yet: its message may still be on the way
    row.next_attempt_at = utcnow() - outbox.LOST_AFTER - timedelta(seconds=1)
    db.session.commit()
    assert outbox.sweep() == 1
    wait_for(lambda: rows()[0].status == "sent", what="the requeued e-mail sent")
    assert len(smtp[1]) == 1
    assert outbox.sweep() == 0


def test_a_worker_that_died_mid_send_is_recovered(notify_app, worker, smtp):
    row = outbox_row(stored_incident(), status="sending",
                     claimed_at=utcnow() - outbox.LEASE - timedelta(seconds=1))
    assert outbox.sweep() == 1
    wait_for(lambda: rows()[0].status == "sent", what="the stuck e-mail sent")
    assert [m["To"] for m in smtp[1]] == [row.recipient]


def test_sends_in_progress_or_waiting_for_their_backoff_are_left_alone(notify_app):
    incident = stored_incident()
    outbox_row(incident, status="sending", claimed_at=utcnow())
    outbox_row(incident, recipient="b@bank.example",
               next_attempt_at=utcnow() + timedelta(seconds=30))
    outbox_row(incident, recipient="c@bank.example", status="failed", attempts=5,
               next_attempt_at=utcnow() - timedelta(hours=1))
    assert outbox.sweep() == 0
    assert [r.status for r in rows()] == ["sending", "pending", "failed"]
