"""One send: claimed before it is made, retried with capped backoff (longer when Twilio
says so) for an hour, then failed for good, which every admin hears about."""

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify import outbox
from tests.portal.notify.helpers import outbox_row, stored_incident


@pytest.fixture
def sms(notify_app):
    return outbox_row(stored_incident(), channel="sms", recipient="+256700000001")


def _fail_and_wait(sms) -> int:
    """One failed attempt; returns how long the outbox waits before the next (from the
    failure's own time, so a slow machine does not shift it)."""
    before = utcnow()
    assert outbox.deliver(sms.id) == "retry"
    db.session.refresh(sms)
    assert sms.status == "pending" and sms.last_failed_at >= before
    assert outbox.deliver(sms.id) == "skipped"  # not due yet
    wait = round((sms.next_attempt_at - sms.last_failed_at).total_seconds())
    sms.next_attempt_at = utcnow() - timedelta(seconds=1)  # as if the wait passed
    db.session.commit()
    return wait


def test_a_failed_send_backs_off_to_a_cap_and_keeps_trying_for_an_hour(sms, twilio):
    twilio.fail_next = 100
    waits = [_fail_and_wait(sms) for _ in range(7)]
    assert waits == [10, 30, 90, 270, 300, 300, 300]
    assert "HTTP 500" in sms.last_error and sms.attempts == 7
    # Planned 59 minutes ago: the next wait would end past the hour, so this is the last.
    sms.created_at = utcnow() - timedelta(minutes=59)
    db.session.commit()
    assert outbox.deliver(sms.id) == "failed"
    db.session.refresh(sms)
    assert sms.status == "failed" and sms.attempts == 8


def test_twilio_throttling_is_waited_out_as_long_as_it_asks(sms, twilio):
    twilio.throttle_next, twilio.retry_after = 2, "120"
    assert _fail_and_wait(sms) == 120  # more than the 10 s the schedule says
    assert "HTTP 429" in sms.last_error
    twilio.retry_after = "3"
    assert _fail_and_wait(sms) == 30  # never less than the schedule
    assert outbox.deliver(sms.id) == "sent"
    assert len(twilio.sent) == 1


def test_a_page_failed_for_good_is_in_every_admins_bell_once(sms, twilio):
    from portal.notify.models import UserNotification
    from tests.factories import make_user

    admins = [make_user("admin"), make_user("admin")]
    make_user("it_staff")
    twilio.fail_next = 100
    sms.created_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert outbox.deliver(sms.id) == "failed"
    bell = db.session.scalars(db.select(UserNotification)).all()
    assert sorted(entry.user_id for entry in bell) == [admin.id for admin in admins]
    assert {entry.state for entry in bell} == {"failed"}
    assert bell[0].title.startswith("A page could not be delivered: ")
    assert "+256700000001" in bell[0].body and "HTTP 500" in bell[0].body
    assert outbox.tell_admins_of_failure(sms) == []  # a second failed page adds no entry


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
