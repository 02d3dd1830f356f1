"""An account reaching the limit of failed sign-ins tells its owner by e-mail, once per burst,
with the address and the time and never the password tried."""

import pytest
import redis

import portal.auth.service
from portal.auth import throttle
from portal.jobs.actors import JOBS
from portal.notify.account_notices import send_account_notice
from tests.conftest import TEST_REDIS_URL
from tests.factories import PASSWORD, make_user

GUESS = "Tr0ub4dor&3-guess"


def _fail(client, username, times, addr="198.51.100.7"):
    """``times`` wrong passwords, each after the wait the one before imposed."""
    store = redis.Redis.from_url(TEST_REDIS_URL)
    for _ in range(times):
        for key in store.scan_iter("login:wait:*"):
            store.delete(key)
        response = client.post("/api/auth/login", json={"username": username, "password": GUESS},
                               environ_base={"REMOTE_ADDR": addr})
        assert response.status_code == 401


@pytest.fixture
def queued(monkeypatch):
    """The jobs sign-in queues, by name and arguments."""
    jobs = []
    monkeypatch.setattr(portal.auth.service, "send", lambda name, *args: jobs.append((name, args)))
    return jobs


def test_reaching_the_limit_queues_one_notice_and_further_failures_none(notify_client, queued):
    user = make_user(username="teller-1")
    _fail(notify_client, "Teller-1", throttle.ACCOUNT.limit - 1)
    assert queued == []
    _fail(notify_client, "Teller-1", 8)
    [(name, args)] = queued
    assert name == "send_account_notice"
    assert args[:3] == (user.username, "198.51.100.7", throttle.ACCOUNT.limit)
    assert GUESS not in repr(args)


def test_a_success_ends_the_burst_so_a_new_one_notifies_again(notify_client, queued):
    user = make_user()
    _fail(notify_client, user.username, throttle.ACCOUNT.limit)
    for key in redis.Redis.from_url(TEST_REDIS_URL).scan_iter("login:wait:*"):
        redis.Redis.from_url(TEST_REDIS_URL).delete(key)
    assert notify_client.post("/api/auth/login", json={"username": user.username,
                                                       "password": PASSWORD}).status_code == 200
    _fail(notify_client, user.username, throttle.ACCOUNT.limit)
    assert len(queued) == 2


def test_names_that_are_no_account_queue_the_same_notice(notify_client, queued):
    """The work a failure costs must not depend on whether the account exists."""
    _fail(notify_client, "nobody-here", throttle.ACCOUNT.limit)
    assert [name for name, _args in queued] == ["send_account_notice"]


def test_the_owner_is_mailed_once_with_the_address_and_time_and_no_password(
        notify_client, worker, smtp):
    user = make_user(username="teller-2")
    _fail(notify_client, user.username, throttle.ACCOUNT.limit + 3)
    worker.join("default", timeout=10_000)
    [mail] = smtp[1]
    assert mail["To"] == "teller-2@bank.example"
    assert mail["Subject"] == "[servermon] 5 failed sign-ins to your account"
    body = mail.get_payload(decode=True).decode()
    assert "5 failed sign-ins to your servermon account teller-2 from 198.51.100.7" in body
    assert "EAT" in body  # since when, in the configured zone
    assert "tell an administrator" in body
    assert GUESS not in mail.as_string() and PASSWORD not in mail.as_string()


def test_no_one_is_mailed_for_a_disabled_account_or_a_name_that_is_no_account(notify_app, smtp):
    make_user(username="gone", is_active=False)
    send_account_notice("gone", "198.51.100.7", 5, "2026-11-28T05:00:00+00:00")
    send_account_notice("nobody-here", "198.51.100.7", 5, "2026-11-28T05:00:00+00:00")
    assert smtp[1] == []


def test_without_smtp_the_notice_is_skipped_not_failed(app):
    make_user(username="teller-3")
    send_account_notice("teller-3", "198.51.100.7", 5, "2026-11-28T05:00:00+00:00")


def test_a_failing_relay_is_retried_a_bounded_number_of_times():
    options = JOBS["send_account_notice"].options
    assert 0 < options["max_retries"] <= 5 and options["time_limit"] > 0
