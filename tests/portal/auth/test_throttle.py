"""Failed sign-ins slow further attempts down, per account and per address, for any name
typed; nothing locks an account, and the address is the one the trusted proxy reports."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from argon2 import PasswordHasher

from portal.auth import passwords, throttle
from portal.errors import APIError
from tests.conftest import TEST_REDIS_URL
from tests.factories import PASSWORD, make_user

LIMIT = throttle.ACCOUNT.limit


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Dozens of sign-ins a test, and Argon2's cost is not what they are about."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("servermon-dummy-password"))


def _attempt(client, username, password="wrong-password", addr="10.0.0.1", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr}, headers=headers)


def _let_the_wait_pass():
    """Time passing as the throttle sees it: every wait is a Redis key that expires."""
    store = redis.Redis.from_url(TEST_REDIS_URL)
    for key in store.scan_iter("login:wait:*"):
        store.delete(key)


def _retry_after(response) -> int:
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["details"]["retry_after_s"] == int(response.headers["Retry-After"])
    return int(response.headers["Retry-After"])


def test_the_limit_of_failures_is_answered_at_once_then_the_next_attempt_waits(client):
    user = make_user()
    for _ in range(LIMIT):
        assert _attempt(client, user.username).status_code == 401
    assert _retry_after(_attempt(client, user.username, PASSWORD)) == 1


def test_once_the_wait_is_over_the_right_password_signs_in(client):
    user = make_user()
    for _ in range(LIMIT):
        _attempt(client, user.username)
    wait = _retry_after(_attempt(client, user.username, PASSWORD))
    time.sleep(wait)
    assert _attempt(client, user.username, PASSWORD).status_code == 200


def test_each_further_failure_doubles_the_wait(client):
    user = make_user()
    for _ in range(LIMIT):
        _attempt(client, user.username)
    waits = []
    for _ in range(4):
        waits.append(_retry_after(_attempt(client, user.username)))
        _let_the_wait_pass()
        assert _attempt(client, user.username).status_code == 401
    assert waits == [1, 2, 4, 8]


def test_the_waits_are_capped_a_minute_for_an_account_a_quarter_hour_for_an_address():
    account = [throttle.wait_s(throttle.ACCOUNT, n) for n in range(1, 16)]
    assert account == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60]
    address = [throttle.wait_s(throttle.ADDRESS, n) for n in range(18, 34)]
    assert address == [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]


def test_attempts_refused_during_a_wait_do_not_lengthen_it(client):
    user = make_user()
    for _ in range(LIMIT):
        _attempt(client, user.username)
    for _ in range(10):
        assert _attempt(client, user.username).status_code == 429
    _let_the_wait_pass()
    assert _attempt(client, user.username).status_code == 401
    assert _retry_after(_attempt(client, user.username)) == 2


def test_unknown_usernames_are_slowed_exactly_like_real_ones(client):
    make_user(username="real-user")
    for _ in range(LIMIT):
        assert _attempt(client, "ghost-user").status_code == _attempt(client, "real-user").status_code
    ghost, real = _attempt(client, "ghost-user"), _attempt(client, "real-user")
    assert _retry_after(ghost) == _retry_after(real)
    assert ghost.get_json() == real.get_json()
    _let_the_wait_pass()
    assert _attempt(client, "ghost-user").status_code == _attempt(client, "real-user").status_code == 401


def test_an_address_trying_many_usernames_is_slowed_too(client):
    for i in range(throttle.ADDRESS.limit):
        assert _attempt(client, f"user-{i}", addr="10.9.9.9").status_code == 401
    assert _retry_after(_attempt(client, "someone-else", addr="10.9.9.9")) == 1
    assert _attempt(client, "someone-else", addr="10.9.9.10").status_code == 401


def test_a_success_clears_the_account_counter(client):
    user = make_user()
    for _ in range(LIMIT - 1):
        _attempt(client, user.username)
    assert _attempt(client, user.username, PASSWORD).status_code == 200
    for _ in range(LIMIT):
        assert _attempt(client, user.username).status_code == 401
    assert _attempt(client, user.username).status_code == 429


def test_a_right_password_from_a_busy_address_leaves_it_no_wait(client):
    """Past its limit an address gets one attempt per wait; when that attempt is someone
    signing in, the next person behind the same address need not wait for it."""
    user = make_user()
    for i in range(throttle.ADDRESS.limit):
        _attempt(client, f"user-{i}", addr="10.9.9.9")
    _let_the_wait_pass()
    assert _attempt(client, user.username, PASSWORD, addr="10.9.9.9").status_code == 200
    assert _attempt(client, "user-0", addr="10.9.9.9").status_code == 401


def test_guesses_sent_at_once_are_checked_no_more_than_the_limit(app):
    """An attempt counts from the moment it is let in, so guesses sent in parallel cannot
    all pass the check before the first of them has failed."""
    username = make_user().username

    def guess(_):
        return _attempt(app.test_client(), username).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(24)))
    assert sorted(codes) == [401] * LIMIT + [429] * (24 - LIMIT)


def test_an_attempt_still_in_flight_holds_the_wait(app):
    for _ in range(LIMIT):
        throttle.admit("alice", "10.0.0.1")
    with pytest.raises(APIError) as refused:
        throttle.admit("alice", "10.0.0.1")
    assert refused.value.status == 429


def test_with_redis_unreachable_sign_in_is_a_clear_503_not_a_500(migrated):
    """The throttle's counters live in Redis; without them a sign-in can be neither checked
    nor counted, so it is refused, saying why, rather than crashing or letting it through."""
    from tests.conftest import fresh_app, make_config
    from tests.support.binaries import free_port

    user = None
    with fresh_app(make_config(migrated, REDIS_URL=f"redis://127.0.0.1:{free_port()}/15")) as app:
        user = make_user()
        response = app.test_client().post(
            "/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 503
    assert response.get_json()["error"] == ("sign-in is unavailable: the session store (Redis) "
                                            "does not answer; try again shortly")


def test_forwarded_for_from_a_peer_that_is_no_proxy_is_ignored(client):
    codes = [_attempt(client, f"user-{i}", addr="203.0.113.5",
                      forwarded=f"198.51.100.{i}").status_code for i in range(25)]
    assert codes == [401] * throttle.ADDRESS.limit + [429] * (25 - throttle.ADDRESS.limit)


def test_forwarded_for_from_the_trusted_proxy_is_the_address_throttled(client):
    for i in range(throttle.ADDRESS.limit):
        _attempt(client, f"user-{i}", addr="127.0.0.1", forwarded="198.51.100.7")
    assert _attempt(client, "someone", addr="127.0.0.1", forwarded="198.51.100.7").status_code == 429
    assert _attempt(client, "someone", addr="127.0.0.1", forwarded="198.51.100.8").status_code == 401
