"""One send: claimed before it is made, retried with growing backoff, given up after five."""

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify import outbox
from tests.portal.notify.helpers import outbox_row, stored_incident


@pytest.fixture
def sms(notify_app):
    return outbox_row(stored_incident(), channel="sms", recipient="+256700000001")


def test_a_failed_send_waits_longer_each_time_then_gives_up(sms, twilio):
    twilio.fail_next = 100
    waits = []
    for _attempt in range(outbox.MAX_ATTEMPTS - 1):
        before = utcnow()
        assert outbox.deliver(sms.id) == "retry"
        db.session.refresh(sms)
        waits.append(round((sms.next_attempt_at - before).total_seconds()))
        assert sms.status == "pending" and "HTTP 500" in sms.last_error
        assert outbox.deliver(sms.id) == "skipped"  # not due yet
        sms.next_attempt_at = utcnow() - timedelta(seconds=1)  # as if the wait passed
        db.session.commit()
    assert waits == [10, 30, 90, 270]
    assert outbox.deliver(sms.id) == "failed"
    db.session.refresh(sms)
    assert sms.status == "failed" and sms.attempts == 5


def test_a_row_is_sent_once_however_often_it_is_delivered(sms, twilio):
    assert outbox.deliver(sms.id) == "sent"
    assert outbox.deliver(sms.id) == "skipped"
    assert len(twilio.sent) == 1


def test_a_row_another_worker_claimed_is_not_sent(sms, twilio):
    sms.status, sms.claimed_at = "sending", utcnow()
    db.session.commit()
    assert outbox.deliver(sms.id) == "skipped"
    assert twilio.sent == []


def test_errors_kept_for_the_alerts_page_hold_no_secret(sms, twilio):
    twilio.fail_next = 1
    outbox.deliver(sms.id)
    db.session.refresh(sms)
    assert "twilio-token" not in sms.last_error
