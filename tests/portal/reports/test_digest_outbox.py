"""Sending the daily digest: once per user and day, from digest_hour on, through the real
SMTP stand-in; two sweeps and two workers send it once; a refused send is retried, a dead
worker's taken back, and neither sends it twice."""

from datetime import UTC, date, datetime, timedelta

import dramatiq
import pytest

from portal import create_app
from portal.auth.directory import Entry
from portal.auth.directory_accounts import apply as directory_account
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.reports import digest_outbox
from portal.reports.digest_outbox import LEASE, deliver_digest, plan_digests, sweep_digests
from portal.reports.models import DailyDigest
from portal.settings.service import update_settings
from portal.users.schemas import ProfileUpdate, UserUpdate
from portal.users.service import update_profile, update_user
from tests.conftest import fresh_app, make_config
from tests.factories import make_user
from tests.portal.reports.digest_helpers import a_day_of_incidents
from tests.support.standins import SmtpSink
from tests.support.waiting import wait_for

DAY = date(2026, 11, 20)
AT_SEVEN = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 07:00 in Kampala, the default hour


@pytest.fixture
def relay():
    """The bank's mail relay (aiosmtpd), up; a test may take it down and back."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def _config(database_url: str, relay: SmtpSink, **overrides):
    return make_config(database_url, SMTP_HOST="127.0.0.1", SMTP_PORT=relay.port,
                       SMTP_FROM="servermon@bank.example",
                       PORTAL_URL="https://servermon.bank.example", **overrides)


@pytest.fixture
def mail_app(migrated, relay):
    with fresh_app(_config(migrated, relay)) as app:
        yield app


def reader(**fields):
    return make_user("it_staff", daily_digest=True, **fields)


def rows() -> list[DailyDigest]:
    db.session.expire_all()
    return db.session.scalars(db.select(DailyDigest).order_by(DailyDigest.id)).all()


def test_nothing_is_planned_before_the_digest_hour_in_the_configured_zone(mail_app):
    reader()
    assert plan_digests(AT_SEVEN - timedelta(minutes=1)) == []  # 06:59 EAT
    [planned] = plan_digests(AT_SEVEN)
    assert [(row.id, row.day, row.status) for row in rows()] == [(planned, DAY, "pending")]
    update_settings({"digest_hour": 9}, None)
    reader()
    assert plan_digests(AT_SEVEN + timedelta(hours=1, minutes=59)) == []  # 08:59 EAT
    assert len(plan_digests(AT_SEVEN + timedelta(hours=2))) == 1


def test_only_active_users_who_opted_in_and_have_an_address_get_one(mail_app):
    wanted = reader()
    make_user("it_staff")  # did not ask
    reader(is_active=False)
    nameless = directory_account(Entry(dn="CN=Nameless,OU=Staff", email=None, phone=None,
                                       groups=frozenset(), role="it_staff"), "nameless", None)
    update_profile(nameless, ProfileUpdate(daily_digest=True))
    plan_digests(AT_SEVEN)
    assert [row.user_id for row in rows()] == [wanted.id]


def test_without_smtp_nothing_is_planned(app):
    reader()
    assert plan_digests(AT_SEVEN) == [] and rows() == []


def test_it_goes_once_per_user_and_day_across_sweeps_and_workers(mail_app, relay):
    a_day_of_incidents()
    first, second = reader(), reader()
    assert sweep_digests(AT_SEVEN) == 2
    assert sweep_digests(AT_SEVEN + timedelta(minutes=1)) == 0  # a second sweep plans nothing
    other_worker = create_app(mail_app.config["SERVERMON"])
    with other_worker.app_context():  # a second worker process, its own session
        assert plan_digests(AT_SEVEN) == []
        # It read the users before the first worker's rows were committed: its insert
        # meets the unique (user, day) and plans nothing, raising nothing.
        assert digest_outbox._insert(first.id, DAY) is None
        db.session.commit()
        db.session.remove()
    ids = [row.id for row in rows()]
    assert [deliver_digest(ids[0]), deliver_digest(ids[1])] == ["sent", "sent"]
    with other_worker.app_context():  # the same jobs delivered to the other worker too
        assert [deliver_digest(ids[0]), deliver_digest(ids[1])] == ["skipped", "skipped"]
        db.session.remove()
        db.engine.dispose()
    assert sorted(mail["To"] for mail in relay.messages) == sorted([first.email, second.email])
    assert [row.status for row in rows()] == ["sent", "sent"]
    assert sweep_digests(AT_SEVEN + timedelta(hours=5)) == 0
    assert len(relay.messages) == 2
    assert len(plan_digests(AT_SEVEN + timedelta(days=1))) == 2  # the next day has its own


def test_the_mail_is_text_with_an_html_alternative(mail_app, relay):
    a_day_of_incidents()
    user = reader()
    [digest_id] = plan_digests(AT_SEVEN)
    assert deliver_digest(digest_id) == "sent"
    [mail] = relay.messages
    assert (mail["To"], mail["From"]) == (user.email, "servermon@bank.example")
    assert mail["Subject"].startswith("[servermon] Daily digest for 2026-11-19: 3 incidents")
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert "CRITICAL cbs-app: connection refused" in text.get_payload(decode=True).decode()
    assert "<td style=\"padding:2px 8px\">cbs-app</td>" in html.get_payload(decode=True).decode()


def test_a_refused_send_is_retried_then_sent_once(mail_app, relay):
    reader()
    [digest_id] = plan_digests(AT_SEVEN)
    relay.stop()  # the relay is down: its port refuses connections
    assert deliver_digest(digest_id) == "retry"
    [row] = rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Connection refused" in row.last_error or "ConnectionRefused" in row.last_error
    assert timedelta(seconds=9) < row.next_attempt_at - utcnow() <= timedelta(seconds=10)
    assert deliver_digest(digest_id) == "skipped"  # not before its backoff
    relay.start()
    row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the backoff has run out
    db.session.commit()
    assert deliver_digest(digest_id) == "sent"
    assert deliver_digest(digest_id) == "skipped"
    assert len(relay.messages) == 1
    assert [(r.status, r.attempts, r.last_error) for r in rows()] == [("sent", 2, None)]


def test_retries_stop_at_the_outbox_horizon(mail_app, relay):
    reader()
    [digest_id] = plan_digests(AT_SEVEN)
    row = rows()[0]
    row.created_at = utcnow() - timedelta(seconds=mail_app.config["SERVERMON"].outbox_retry_for_s)
    db.session.commit()
    relay.stop()
    assert deliver_digest(digest_id) == "failed"
    assert rows()[0].status == "failed"
    relay.start()
    assert sweep_digests(AT_SEVEN) == 0 and deliver_digest(digest_id) == "skipped"
    assert relay.messages == []


def test_a_dead_workers_claim_runs_out_and_the_digest_goes(mail_app, relay):
    user = reader()
    [digest_id] = plan_digests(AT_SEVEN)
    row = rows()[0]
    row.status, row.claimed_at, row.claim = "sending", utcnow() - LEASE / 2, "dead-worker"
    db.session.commit()
    assert sweep_digests(AT_SEVEN) == 0  # a live send, as far as anyone knows
    row.claimed_at = utcnow() - LEASE - timedelta(seconds=1)
    db.session.commit()
    assert sweep_digests(AT_SEVEN) == 1
    assert deliver_digest(digest_id) == "sent"
    assert [mail["To"] for mail in relay.messages] == [user.email]


def test_who_opted_out_or_was_disabled_since_it_was_planned_gets_none(mail_app, relay):
    leaver, changed_mind = reader(), reader()
    planned = plan_digests(AT_SEVEN)
    update_user(make_user("admin"), leaver, UserUpdate(is_active=False))
    update_profile(changed_mind, ProfileUpdate(daily_digest=False))
    assert [deliver_digest(digest_id) for digest_id in planned] == ["skipped", "skipped"]
    assert [row.status for row in rows()] == ["skipped", "skipped"]
    assert relay.messages == []


def test_the_worker_sends_what_the_sweep_queued(migrated, relay):
    with fresh_app(_config(migrated, relay)):
        user = reader()
        update_settings({"digest_hour": 0}, None)  # so that the hour has begun, whenever now is
        running = dramatiq.Worker(dramatiq.get_broker(), worker_threads=2, worker_timeout=100)
        running.start()
        try:
            assert sweep_digests() == 1
            wait_for(lambda: rows()[0].status == "sent", what="the digest sent by the worker")
        finally:
            running.stop()
        assert [mail["To"] for mail in relay.messages] == [user.email]


def test_the_workers_periodic_pass_plans_it_once_however_often_it_runs(mail_app):
    from portal.jobs.periodic import run_periodic

    update_settings({"digest_hour": 0}, None)  # the hour has begun, whenever now is
    user = reader()
    run_periodic(mail_app)
    run_periodic(mail_app)
    assert [(row.user_id, row.status) for row in rows()] == [(user.id, "pending")]
